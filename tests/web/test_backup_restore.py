"""`offre backup` / `offre restore` (issue 17, point 4): a round trip through
pg_dump's custom format into an empty database; the référentiel is left out of the
dump and reloaded by the restore; `offre doctor` then finds the database sound."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from catalogue import demo
from catalogue.db import make_engine, make_sessionmaker, transaction
from tests import dbsetup
from web.app import create_app
from web.cli import build_cli
from web.settings import Settings


@pytest.fixture
def source_url(pg_server_url, template_db):
    url = dbsetup.create_test_database(pg_server_url, template_db, label="backup_")
    yield url
    dbsetup.drop_database(pg_server_url, url)


@pytest.fixture
def empty_url(pg_server_url):
    name = "offre_test_restore_" + make_url(pg_server_url).database.replace("postgres", "x")[:8]
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    yield url
    dbsetup.drop_database(pg_server_url, url)
    admin.dispose()


def _cli(url, *args):
    app = create_app(Settings(database_url=url, secret_key="x" * 40, tiles_url=""))
    result = app.test_cli_runner().invoke(build_cli(), list(args))
    app.extensions["offre"]["engine"].dispose()
    return result


SNAPSHOT = [
    "SELECT count(*) FROM service",
    "SELECT count(*) FROM structure",
    "SELECT count(*) FROM audit_log",
    "SELECT count(*) FROM search_document WHERE visible",
    "SELECT count(*) FROM geo_territory",
    "SELECT string_agg(nom, '|' ORDER BY id) FROM service",
    "SELECT version_num FROM alembic_version",
]


def _snapshot(url):
    engine = make_engine(url)
    with engine.connect() as conn:
        values = [conn.scalar(text(q)) for q in SNAPSHOT]
        communes = conn.scalar(text("SELECT count(*) FROM geo_commune WHERE departement_code = '02'"))
    engine.dispose()
    return values, communes


def test_backup_then_restore_into_an_empty_database(source_url, empty_url, tmp_path):
    engine = make_engine(source_url)
    with transaction(make_sessionmaker(engine), actor="test") as session:
        demo.load(session, n_structures=12, n_services=60, seed=7)
    engine.dispose()
    before, communes = _snapshot(source_url)
    assert before[0] == 60 and communes > 700

    dump = tmp_path / "offre.dump"
    result = _cli(source_url, "backup", str(dump))
    assert result.exit_code == 0, result.output
    assert "Sauvegarde écrite" in result.output
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    result = _cli(empty_url, "restore", str(dump), "--departements", "02")
    assert result.exit_code == 0, result.output
    assert "Référentiel rechargé" in result.output
    after, communes_after = _snapshot(empty_url)
    assert after == before
    assert communes_after == communes

    # A second restore over it is refused unless asked for.
    refused = _cli(empty_url, "restore", str(dump))
    assert refused.exit_code != 0 and "n'est pas vide" in refused.output
    replaced = _cli(empty_url, "restore", str(dump), "--remplacer")
    assert replaced.exit_code == 0, replaced.output
    assert _snapshot(empty_url)[0] == before

    doctor = _cli(empty_url, "doctor")
    assert "Migrations : base à jour." in doctor.output
    assert "Référentiel :" in doctor.output and "communes" in doctor.output
