"""`offre doctor` (issue 17, point 6): what is wrong, said in French with what to do;
a sound configuration passes."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller

from catalogue.schedule import JOBS, period_of
from web.cli import build_cli


class _Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


@pytest.fixture
def smtp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def _doctor(app, *args):
    return app.test_cli_runner().invoke(build_cli(), ["doctor", *args])


def test_doctor_names_each_problem_and_fails(app):
    ext = app.extensions["offre"]
    ext["settings"] = ext["settings"].replace(
        secret_key="dev-secret-change-me", smtp_host="127.0.0.1", smtp_port=9,
        tiles_url="http://tuiles.example.org/carte.png",
        database_url=ext["settings"].database_url.replace("postgres@", "offre:offre@"),
    )
    result = _doctor(app)
    assert result.exit_code == 1
    out = result.output
    assert "✗  SECRET_KEY : valeur par défaut" in out
    assert "✗  DATABASE_URL : mot de passe par défaut" in out
    assert "✗  TILES_URL : doit contenir {z}, {x} et {y}." in out
    assert "!  BASE_URL : désigne cette machine" in out
    assert "!  SMTP : 127.0.0.1:9 injoignable" in out
    assert "ok Migrations : base à jour." in out
    assert "!  Tâche purge-cto : jamais passée" in out


def test_doctor_passes_a_sound_configuration(app, db, smtp_port):
    ext = app.extensions["offre"]
    ext["settings"] = ext["settings"].replace(
        secret_key="s" * 48, smtp_host="127.0.0.1", smtp_port=smtp_port,
        base_url="https://offre.aisne.example", session_cookie_secure=True, trusted_proxies=1,
        tiles_url="https://tuiles.example.org/{z}/{x}/{y}.png", metrics_token="t" * 32,
    )
    from sqlalchemy import text

    now = datetime.now(UTC)
    for job in JOBS:
        db.execute(text("INSERT INTO scheduled_job_run (name, status, period, finished_at)"
                        " VALUES (:n, 'ok', :p, now())"), {"n": job.name, "p": period_of(job, now)})
    db.flush()
    result = _doctor(app, "--strict")
    assert result.exit_code == 0, result.output
    assert "0 erreur(s), 0 avertissement(s)." in result.output
    assert "ok SMTP : 127.0.0.1" in result.output
    assert "ok Moteur de recherche : postgres répond." in result.output
