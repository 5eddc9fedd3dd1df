"""offre export data-inclusion DIR: the catalogue as data·inclusion v1 files."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from catalogue import export
from catalogue.export_files import write_export


@click.group("export", help="Exports du catalogue.")
def export_group():
    pass


@export_group.command("data-inclusion", help="Écrit structures et services au format data·inclusion v1 (JSON, NDJSON, CSV) dans DIR.")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--source", default=None, help="Nom du producteur pour data·inclusion (défaut : cd<code du département>).")
@click.option("--exclude-source", "exclude_sources", multiple=True, help="Source du catalogue à ne pas exporter (ex. dora, déjà connue de data·inclusion) ; répétable.")
@click.option("--include-imported", is_flag=True,
              help="Ajouter les enregistrements importés d'une autre base (Soliguide, DORA, data·inclusion…), "
                   "sous leur propre source et leur propre identifiant. Par défaut, seuls les nôtres "
                   "(espace des partenaires, API des partenaires, fichiers des partenaires).")
@with_appcontext
def data_inclusion(directory, source, exclude_sources, include_imported):
    offre = current_app.extensions["offre"]
    source = source or export.default_source(offre["settings"].departement_code)
    with offre["sessionmaker"]() as session:
        result = write_export(session, directory, source, tuple(exclude_sources), include_imported)
    failed = False
    for kind, (written, rejected) in result.items():
        click.echo(f"{kind} : {written} écrits dans {directory}/{kind}.json, .ndjson, .csv ; {len(rejected)} écartés.")
        for item in rejected:
            failed = True
            reasons = "; ".join(f"{k} : {', '.join(v)}" for k, v in item.reasons.items())
            click.echo(f"  écarté ({item.kind} {item.catalogue_id}, « {item.nom} ») : {reasons}", err=True)
    if failed:
        raise SystemExit(1)


commands = [export_group]
