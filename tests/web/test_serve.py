"""`offre serve` (what `make run` ends with) really serves the application with
gunicorn, from the venv, whatever PATH holds."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environ(**values) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OFFRE_ENV", "SECRET_KEY", "SECRET_KEY_FILE")}
    return {**env, "PATH": "/usr/bin:/bin", "TILES_URL": "", **values}


def test_offre_serve_refuses_the_default_key_outside_development(database_url):
    offre = Path(sys.executable).parent / "offre"
    done = subprocess.run([str(offre), "serve", "--bind", f"127.0.0.1:{_free_port()}"], cwd=ROOT,
                          env=_environ(DATABASE_URL=database_url), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SECRET_KEY : la clé par défaut n'est permise qu'en développement" in done.stderr
    assert "Traceback" not in done.stderr
    short = subprocess.run([str(offre), "db", "check"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                           env=_environ(DATABASE_URL=database_url, SECRET_KEY="trop-courte"))
    assert short.returncode != 0 and "SECRET_KEY : trop courte" in short.stderr


def test_the_secret_key_of_make_run_is_made_once_and_kept(tmp_path):
    key_file = tmp_path / "var" / "secret_key"
    first = subprocess.run([str(ROOT / "bin/secret-key"), str(key_file)], capture_output=True, text=True, check=True)
    assert first.stdout.strip() == str(key_file)
    key = key_file.read_text().strip()
    assert len(key) >= 32
    assert key_file.stat().st_mode & 0o777 == 0o600
    subprocess.run([str(ROOT / "bin/secret-key"), str(key_file)], check=True, capture_output=True)
    assert key_file.read_text().strip() == key  # kept across restarts
    other = tmp_path / "other"
    subprocess.run([str(ROOT / "bin/secret-key"), str(other)], check=True, capture_output=True)
    assert other.read_text().strip() != key  # random
    assert "/var/" in (ROOT / ".gitignore").read_text().split()  # never committed
    assert "SECRET_KEY_FILE=$(bin/secret-key var/secret_key)" in (ROOT / "bin/run").read_text()


def test_offre_serve_answers_healthz_and_home(database_url, tmp_path):
    port = _free_port()
    key_file = tmp_path / "secret_key"
    key_file.write_text("une-cle-de-production-assez-longue-et-aleatoire-0123456789")
    env = _environ(DATABASE_URL=database_url, SECRET_KEY_FILE=str(key_file))
    offre = Path(sys.executable).parent / "offre"
    server = subprocess.Popen(
        [str(offre), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        body = None
        for _ in range(100):
            if server.poll() is not None:
                raise AssertionError(server.stdout.read().decode(errors="replace"))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.2)
        assert body is not None, "gunicorn n'a pas répondu"
        assert body["database"]["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            page = r.read().decode()
        assert "Les dix thématiques du SPIE" in page
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_gunicorn_timeouts_are_set(monkeypatch):
    # Deliberate timeouts (web/gunicorn_conf.py, the one place): a worker silent for
    # WEB_TIMEOUT_S is replaced, a restart lets requests finish, idle connections close.
    import importlib

    monkeypatch.setenv("WEB_TIMEOUT_S", "60")
    import web.gunicorn_conf as conf

    conf = importlib.reload(conf)
    assert conf.timeout == 60 and conf.graceful_timeout == 30 and conf.keepalive == 5
    assert conf.max_requests > 0 and conf.max_requests_jitter > 0


def test_each_worker_puts_its_startup_objects_out_of_the_collectors_reach():
    """web/gunicorn_conf.post_worker_init: once the app is loaded, a full collection
    of the garbage collector scans only what requests create (bench/pages.py)."""
    import gc

    from web import gunicorn_conf

    kept = [[] for _ in range(3)]  # live objects that a full collection would scan
    assert any(o is kept[0] for o in gc.get_objects())
    before = gc.get_freeze_count()
    try:
        gunicorn_conf.post_worker_init(None)
        assert gc.get_freeze_count() > before
        assert not any(o is kept[0] for o in gc.get_objects())
    finally:
        gc.unfreeze()
