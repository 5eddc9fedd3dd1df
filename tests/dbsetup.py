"""Test databases on a real PostGIS: a private cluster under ./var (unless
TEST_DATABASE_URL names a server), a template database built once through the
migrations and the référentiel load, and one database per test process copied
from it."""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent


def cluster_env() -> dict[str, str]:
    """Environment of bin/pgcluster for the tests: their own cluster (var/pg-test,
    never `make run`'s var/pg), with durability off for speed."""
    env = dict(os.environ)
    env.setdefault("OFFRE_PG_DATA", str(ROOT / "var" / "pg-test"))
    env["OFFRE_PG_DURABLE"] = "0"
    return env


def server_url() -> str:
    """URL of a maintenance database on the test server."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    env = cluster_env()
    subprocess.run([str(ROOT / "bin/pgcluster"), "start"], check=True, env=env)
    out = subprocess.run(
        [str(ROOT / "bin/pgcluster"), "url", "postgres"],
        check=True, capture_output=True, text=True, env=env,
    )
    return out.stdout.strip()


def _with_db(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _fingerprint() -> str:
    """Changes when the schema or the référentiel load changes."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "migrations/versions").glob("*.py")):
        h.update(path.read_bytes())
    h.update((ROOT / "geo/loader.py").read_bytes())
    return h.hexdigest()[:12]


def _exists(admin, name: str) -> bool:
    return bool(admin.scalar(text("select 1 from pg_database where datname = :n"), {"n": name}))


def build_template(url: str) -> str:
    """Name of the template database (migrated, référentiel loaded), built if missing.
    A file lock keeps parallel test processes from building it twice."""
    name = f"offre_tpl_{_fingerprint()}"
    lock_path = ROOT / "var" / "test-template.lock"
    lock_path.parent.mkdir(exist_ok=True)
    admin_engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with open(lock_path, "w") as lock, admin_engine.connect() as admin:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _exists(admin, name):
            return name
        building = f"{name}_building"
        admin.execute(text(f'DROP DATABASE IF EXISTS "{building}"'))
        admin.execute(text(f'CREATE DATABASE "{building}"'))
        build_url = _with_db(url, building)
        _migrate(build_url)
        _load_referentiel(build_url)
        admin.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
        # Old templates of earlier schemas are dropped.
        old_names = admin.scalars(
            text(
                "select datname from pg_database where datname like 'offre_tpl_%' "
                "and datname <> :n and datname not like '%_building'"
            ),
            {"n": name},
        ).all()
        for old in old_names:
            try:
                admin.execute(text(f'DROP DATABASE IF EXISTS "{old}"'))
            except Exception:  # still used as a template by another test process
                pass
    admin_engine.dispose()
    return name


def _migrate(url: str) -> None:
    from alembic import command

    from web.commands.base import alembic_config

    command.upgrade(alembic_config(url), "head")


def _load_referentiel(url: str) -> None:
    from catalogue.db import make_engine, make_sessionmaker
    from geo.loader import load_referentiel

    engine = make_engine(url)
    with make_sessionmaker(engine)() as session, session.begin():
        load_referentiel(session)
    engine.dispose()


def create_test_database(url: str, template: str, label: str = "") -> str:
    name = f"offre_test_{label}{uuid.uuid4().hex[:8]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as admin:
        admin.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine.dispose()
    return _with_db(url, name)


def drop_database(url: str, db_url: str) -> None:
    name = make_url(db_url).database
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as admin:
        admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
