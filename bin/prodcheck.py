"""make prod-check: the production processes of the Procfile (app, search worker,
scheduler), started against a fresh database, checked, then stopped.

Checks: /healthz answers ok; an offer written through the partner API, then renamed,
is found by the search API under its new name within a few seconds; the scheduler
ran each job of its table once (and only once); /metrics answers with the token
(and refuses without); the search outbox is empty; every process still runs.

    .venv/bin/python bin/prodcheck.py [--database offre_prodcheck] [--keep]

The database (default offre_prodcheck, on the private cluster of `make run` unless
DATABASE_URL names a server) is dropped and created again at each run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
OFFRE = str(ROOT / ".venv" / "bin" / "offre")
LOGS = ROOT / "var" / "prod-check"
SEARCH_DEADLINE_S = 10


def say(message: str) -> None:
    print(f"[prod-check] {message}", flush=True)


def fail(message: str) -> None:
    raise SystemExit(f"[prod-check] ÉCHEC : {message}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    out = subprocess.run([str(ROOT / "bin/pgcluster"), "url", "postgres"], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def fresh_database(base: str, name: str) -> str:
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def offre(env: dict, *args: str) -> str:
    done = subprocess.run([OFFRE, *args], env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        fail(f"offre {' '.join(args)} : {done.stdout}{done.stderr}")
    return done.stdout


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def http(url: str, *, method: str = "GET", body: dict | None = None, headers: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(what: str, check, timeout_s: float, every_s: float = 0.2):
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        result = check()
        if result:
            return result, time.monotonic() - started
        time.sleep(every_s)
    fail(f"{what} : rien au bout de {timeout_s:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="offre_prodcheck")
    parser.add_argument("--keep", action="store_true", help="Garder la base à la fin.")
    args = parser.parse_args()

    base = server_url()
    url = fresh_database(base, args.database)
    port = free_port()
    metrics_token = secrets.token_urlsafe(24)
    env = _environment(url, port, metrics_token)
    engine, structure_id, token = _prepare(env, url, args.database)

    LOGS.mkdir(parents=True, exist_ok=True)
    processes: dict[str, subprocess.Popen] = {}
    try:
        _start(env, processes)
        site = f"http://127.0.0.1:{port}"
        _check_health(site)
        _check_api_to_search(site, token, structure_id)
        _check_scheduler(engine)
        _check_metrics(site, metrics_token, engine, processes)
        say("tous les processus tournent ; arrêt")
    finally:
        _stop(processes)
        if "engine" in locals():
            engine.dispose()
        if not args.keep:
            _drop(base, args.database)
    say("réussi")
    return 0


def _environment(url: str, port: int, metrics_token: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "METRICS_TOKEN": metrics_token,
        "BIND": f"127.0.0.1:{port}",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "TILES_URL": "",
        "SEARCH_BACKEND": "postgres",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(free_port()),  # nothing listens: no mail is due on this catalogue
        "LOG_FORMAT": "json",
        "WEB_WORKERS": "2",
    }


def _prepare(env: dict, url: str, database: str):
    """Migrations, référentiel and demonstration catalogue; (engine, a structure's id,
    an API token of that structure)."""
    say(f"base {database} : migrations, référentiel (Aisne), catalogue de démonstration")
    offre(env, "db", "upgrade")
    offre(env, "geo", "load", "--departements", "02")
    offre(env, "demo", "load", "--structures", "10", "--services", "40")
    engine = create_engine(url)
    with engine.connect() as conn:
        structure_id = conn.scalar(text("SELECT id FROM structure ORDER BY nom LIMIT 1"))
    token_out = offre(env, "token", "create", str(structure_id), "--scope", "read",
                      "--scope", "write", "--name", "prod-check")
    token = token_out.strip().splitlines()[-1].strip()
    offre(env, "search", "rebuild")
    return engine, structure_id, token


def _start(env: dict, processes: dict[str, subprocess.Popen]) -> None:
    """The Procfile's processes into `processes` as they start (those started are
    stopped even if a later one fails), each logging into LOGS."""
    for name, command in procfile().items():
        log = open(LOGS / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        processes[name] = subprocess.Popen(
            ["bash", "-c", f"exec {command}"], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        say(f"démarré : {name} (pid {processes[name].pid}) → {LOGS / (name + '.log')}")


def _check_health(site: str) -> None:
    def healthy():
        try:
            status, body = http(f"{site}/healthz")
        except OSError:
            return None
        return body if status == 200 else None

    health, seconds = wait_for("/healthz", healthy, 60)
    say(f"/healthz : {json.loads(health)['status']} ({seconds:.1f} s après le démarrage)")


def _check_api_to_search(site: str, token: str, structure_id) -> None:
    # A change made through the partner API reaches the search.
    auth = {"Authorization": f"Bearer {token}"}
    word = "prodcheck" + secrets.token_hex(3)
    offer = {
        "nom": f"Atelier {word}", "description": "Un atelier de vérification de la mise en production.",
        "thematiques": ["numerique--maitriser-les-fondamentaux-du-numerique"],
        "publics": ["tous-publics"], "modes_accueil": ["en-presentiel"],
        "code_insee": "02408", "zone_eligibilite": ["02"],
    }
    service_url = f"{site}/api/v1/structures/{structure_id}/services/prod-check"
    for label, name in (("créée", word), ("renommée", word + "bis")):
        status, body = http(service_url, method="PUT", body={**offer, "nom": f"Atelier {name}"},
                            headers=auth)
        if status not in (200, 201):
            fail(f"PUT de l'offre : {status} {body[:300]}")

        def found(name=name):
            status, body = http(f"{site}/api/v1/services/search?q={name}")
            if status != 200:
                return None
            items = json.loads(body)["items"]
            return any(i["service"]["nom"] == f"Atelier {name}" for i in items)

        _, seconds = wait_for(f"offre {label} dans la recherche", found, SEARCH_DEADLINE_S, 0.1)
        say(f"offre {label} par l'API partenaire, trouvée par la recherche en {seconds:.2f} s")


def _check_scheduler(engine) -> None:
    # The scheduler ran each job of its table once.
    from web.commands.schedule import JOBS

    def jobs_done():
        with engine.connect() as conn:
            rows = {r.name: (r.status, r.runs) for r in conn.execute(
                text("SELECT name, status, runs FROM scheduled_job_run"))}
        return rows if all(rows.get(j.name, ("", 0))[0] in ("ok", "echec") for j in JOBS) else None

    runs, seconds = wait_for("tâches planifiées", jobs_done, 120, 0.5)
    wrong = {k: v for k, v in runs.items() if v != ("ok", 1)}
    if wrong:
        fail(f"tâches planifiées : {wrong} (attendu : chacune une fois, ok)")
    say(f"planificateur : {', '.join(sorted(runs))} passées une fois chacune ({seconds:.1f} s)")


def _check_metrics(site: str, metrics_token: str, engine, processes: dict) -> None:
    status, _ = http(f"{site}/metrics")
    if status != 401:
        fail(f"/metrics sans jeton : {status} (attendu 401)")
    status, body = http(f"{site}/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    if status != 200 or "offre_http_requests_total" not in body:
        fail(f"/metrics : {status}")
    outbox = re.search(r"^offre_search_outbox_rows (\S+)$", body, re.M)
    say(f"/metrics : {len(body.splitlines())} lignes ; outbox : {outbox.group(1) if outbox else '?'}")
    with engine.connect() as conn:
        pending = conn.scalar(text("SELECT count(*) FROM search_outbox"))
    if pending:
        fail(f"outbox : {pending} lignes avec le moteur PostgreSQL (attendu : 0)")
    for name, process in processes.items():
        if process.poll() is not None:
            fail(f"{name} s'est arrêté (code {process.returncode}) : voir {LOGS / (name + '.log')}")


def _stop(processes: dict) -> None:
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _drop(base: str, database: str) -> None:
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
