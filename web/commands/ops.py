"""offre doctor, offre backup, offre restore: production operations (their work:
search/doctor.py, catalogue/maintenance.py)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from catalogue import maintenance, operations
from search import doctor as checks
from search import sync
from web.commands.base import sessions, settings


@click.command("doctor", help="Vérifie la configuration et l'état du service, et dit quoi corriger.")
@click.option("--strict", is_flag=True, help="Les avertissements font aussi échouer la commande.")
@with_appcontext
def doctor(strict):
    findings = checks.findings(settings(), sessions())
    for f in findings:
        click.echo(f"{checks.MARK[f.level]}{f.subject} : {f.message}")
    errors = sum(f.level == "erreur" for f in findings)
    warnings = sum(f.level == "avertissement" for f in findings)
    click.echo(f"\n{errors} erreur(s), {warnings} avertissement(s).")
    if errors or (strict and warnings):
        raise SystemExit(1)


@click.command("backup", help="Sauvegarde la base (pg_dump, format custom) dans FICHIER ; le référentiel "
                              "(communes…) n'y est pas : `offre restore` le recharge.")
@click.argument("fichier", type=click.Path(dir_okay=False, writable=True))
@click.option("--avec-referentiel", is_flag=True, help="Inclure aussi les données du référentiel.")
@with_appcontext
def backup(fichier, avec_referentiel):
    try:
        size = maintenance.backup(settings().database_url, fichier, with_referentiel=avec_referentiel)
    except maintenance.MaintenanceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Sauvegarde écrite : {fichier} ({size / 1e6:.1f} Mo).")


@click.command("restore", help="Restaure une sauvegarde de `offre backup` dans la base (vide, sauf "
                               "--remplacer), recharge le référentiel et met le schéma à jour.")
@click.argument("fichier", type=click.Path(exists=True, dir_okay=False))
@click.option("--remplacer", is_flag=True, help="Remplacer le contenu d'une base qui n'est pas vide.")
@click.option("--departements", default="", help="Ne recharger le référentiel que pour ces départements (essais).")
@with_appcontext
def restore(fichier, remplacer, departements):
    url = settings().database_url
    with sessions()() as session:
        used = operations.has_schema(session)
    if used and not remplacer:
        raise click.ClickException("La base n'est pas vide : restaurez dans une base neuve, ou ajoutez "
                                   "--remplacer pour en écraser le contenu.")
    try:
        maintenance.restore(url, fichier, clean=used)
    except maintenance.MaintenanceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("Base restaurée.")
    current_app.extensions["offre"]["engine"].dispose()
    maintenance.upgrade(url)
    from geo import loader

    with sessions()() as session, session.begin():
        if not loader.is_loaded(session):
            wanted = {d.strip().upper() for d in departements.split(",") if d.strip()} or None
            counts = loader.load_referentiel(session, departements=wanted)
            click.echo(f"Référentiel rechargé : {counts['commune']} communes.")
    if settings().search_backend in sync.EXTERNAL:
        click.echo("Moteur externe : lancez `offre search rebuild` (ou laissez search-worker le faire).")
    click.echo("Restauration terminée.")


commands = [doctor, backup, restore]
