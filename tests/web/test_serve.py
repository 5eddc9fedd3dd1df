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


def test_offre_serve_answers_healthz_and_home(database_url):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "TILES_URL": ""}
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
