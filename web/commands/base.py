"""offre db …, offre serve, offre demo …"""

from __future__ import annotations

import os
import sys
import tempfile

import click
from alembic import command
from flask import current_app
from flask.cli import with_appcontext

from catalogue.db import transaction
from catalogue.maintenance import alembic_config


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


@click.command("serve", help="Sert l'application avec gunicorn (réglages : web/gunicorn_conf.py).")
@click.option("--bind", default="127.0.0.1:5000", show_default=True)
@click.option("--workers", type=int, default=None, help="Par défaut : WEB_WORKERS.")
def serve(bind, workers):
    from web.settings import Settings, SettingsError

    try:
        Settings.from_env().check()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    # Metrics of every worker added up (prometheus_client's multiprocess mode): a
    # directory of their own, emptied at each start.
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not metrics_dir:
        metrics_dir = tempfile.mkdtemp(prefix="offre-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    else:
        os.makedirs(metrics_dir, exist_ok=True)
        for name in os.listdir(metrics_dir):
            if name.endswith(".db"):
                os.unlink(os.path.join(metrics_dir, name))
    args = [sys.executable, "-m", "gunicorn", "-c", "python:web.gunicorn_conf", "--bind", bind]
    if workers:
        args += ["--workers", str(workers)]
    # The gunicorn of this interpreter (the venv's), whatever PATH holds.
    os.execv(sys.executable, [*args, "web.app:create_app()"])


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
