"""offre db …, offre serve, offre demo …"""

from __future__ import annotations

import os
import sys
from importlib import resources

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import with_appcontext

from catalogue.db import transaction


def alembic_config(url: str) -> Config:
    path = resources.files("catalogue").joinpath("alembic.ini")
    config = Config(str(path))
    config.attributes["url"] = url
    os.environ.setdefault("DATABASE_URL", url)
    return config


def settings():
    return current_app.extensions["offre"]["settings"]


def sessions():
    return current_app.extensions["offre"]["sessionmaker"]


@click.group("db", help="Schéma de la base (migrations Alembic).")
def db_group():
    pass


@db_group.command("upgrade", help="Applique les migrations jusqu'à la dernière.")
@with_appcontext
def db_upgrade():
    command.upgrade(alembic_config(settings().database_url), "head")
    click.echo("Base à jour.")


@db_group.command("check", help="Vérifie que les modèles et les migrations concordent.")
@with_appcontext
def db_check():
    command.check(alembic_config(settings().database_url))
    click.echo("Migrations et modèles concordent.")


# Worker timeouts, chosen: the longest request (an Excel export of 5,000 offers, a
# PDF of PDF_MAX_OFFERS offers) takes a few seconds on 2 cores; a worker silent for
# longer than TIMEOUT is stuck and replaced. GRACEFUL lets a restart finish the
# requests under way; KEEPALIVE frees idle connections behind a reverse proxy.
WORKER_TIMEOUT_S = 60
GRACEFUL_TIMEOUT_S = 30
KEEPALIVE_S = 5


def gunicorn_argv(bind: str, workers: int, timeout: int = WORKER_TIMEOUT_S) -> list[str]:
    # The gunicorn of this interpreter (the venv's), whatever PATH holds.
    return [
        sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", str(workers),
        "--timeout", str(timeout), "--graceful-timeout", str(GRACEFUL_TIMEOUT_S),
        "--keep-alive", str(KEEPALIVE_S),
        # A worker is replaced after about a thousand requests (memory kept low).
        "--max-requests", "1000", "--max-requests-jitter", "100",
        "--access-logfile", "-", "web.app:create_app()",
    ]


@click.command("serve", help="Sert l'application avec gunicorn.")
@click.option("--bind", default="127.0.0.1:5000", show_default=True)
@click.option("--workers", default=2, show_default=True)
@click.option("--timeout", default=WORKER_TIMEOUT_S, show_default=True,
              help="Secondes au-delà desquelles un worker muet est remplacé.")
def serve(bind, workers, timeout):
    from web.settings import Settings, SettingsError

    try:
        Settings.from_env().check()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    os.execv(sys.executable, gunicorn_argv(bind, workers, timeout))


@click.group("demo", help="Catalogue de démonstration (données fictives).")
def demo_group():
    pass


@demo_group.command("load", help="Génère et charge le catalogue de démonstration (Aisne).")
@click.option("--departement", default="02", show_default=True)
@click.option("--structures", default=300, show_default=True)
@click.option("--services", default=1500, show_default=True)
@click.option("--seed", default=2026, show_default=True)
@click.option("--if-empty", is_flag=True, help="Ne rien faire si le catalogue a déjà des offres.")
@with_appcontext
def demo_load(departement, structures, services, seed, if_empty):
    from catalogue import demo
    from geo.territories import create_aisne_cohorts

    with transaction(sessions(), actor="demo") as session:
        if departement == "02":
            # The Aisne SPIE cohort territories (real definitions, not demo data);
            # existing ones are kept as the SPIE team left them.
            cohorts = create_aisne_cohorts(session, replace=False)
            click.echo("Territoires des cohortes SPIE : " + ", ".join(t.nom for t in cohorts) + ".")
        if if_empty and demo.catalogue_has_services(session):
            click.echo("Le catalogue a déjà des offres : démonstration non chargée.")
            return
        with click.progressbar(length=services, label="Offres de démonstration") as bar:
            report = demo.load(
                session,
                departement=departement,
                n_structures=structures,
                n_services=services,
                seed=seed,
                progress=bar.update,
            )
    click.echo(
        f"Démonstration : {report['structures']} structures et {report['services']} offres "
        f"({report['created']} créées, {report['updated']} mises à jour)."
    )


commands = [db_group, serve, demo_group]
