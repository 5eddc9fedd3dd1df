"""offre import SOURCE PATH_OR_URL [--snapshot], offre import report RUN_ID,
offre import retry …"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
from flask.cli import with_appcontext

from importers import registry
from importers.errors import ImporterError
from importers.models import ImportRun
from importers.readers import workdir
from importers.report import report_lines
from importers.snapshot import ArchiveShareExceeded
from importers.sources import datainclusion
from importers.sources.partner import default_mapping_text, parse_mapping
from web.commands.base import sessions, settings

NATIONAL = "data-inclusion-api"


def _geocoder():
    from geo import geocoding

    url = settings().geocoder_url
    factory = getattr(geocoding, "make_geocoder", None)
    if not url or factory is None:
        return None
    session = sessions()()
    return factory(session, url)


def print_report(run: ImportRun) -> None:
    for line in report_lines(run):
        click.echo(line)


def _show(run_id: int) -> None:
    with sessions()() as session:
        run = session.get(ImportRun, run_id)
        if run is None:
            raise click.ClickException(f"aucun import n° {run_id}")
        print_report(run)


class ImportGroup(click.Group):
    """`offre import SOURCE …` runs an import; `report` and `retry` are subcommands."""

    def parse_args(self, ctx, args):
        if args and args[0] in registry.SOURCES:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("import", cls=ImportGroup, help=(
    "Importer des données : offre import SOURCE CHEMIN_OU_URL [--snapshot]. Sources : "
    + ", ".join(registry.SOURCES) + "."
))
def import_group():
    pass


@import_group.command("run", help=(
    "Importe un fichier, un dossier ou une URL (sources : " + ", ".join(registry.SOURCES) + "). "
    "Source data-inclusion-api : offre import run data-inclusion-api [BASE_URL] [--departement 02] "
    "[--token …] lit l'offre du département dans l'API nationale data·inclusion et la tient à jour "
    "(BASE_URL et jeton par défaut : réglages DATA_INCLUSION_API_URL et DATA_INCLUSION_API_TOKEN)."
))
@click.argument("source", type=click.Choice(list(registry.SOURCES)))
@click.argument("location", required=False)
@click.option("--snapshot", is_flag=True,
              help="Le fichier est complet : archiver (sans supprimer) ce qui n'y figure plus.")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False),
              help="Correspondance YAML des colonnes (source partenaire ; défaut : le modèle).")
@click.option("--source", "producer", metavar="NOM",
              help="data-inclusion : nom du producteur (minuscules, chiffres, tirets), source des "
                   "enregistrements d'un fichier sans colonne « source » (le modèle national) ; "
                   "obligatoire pour ce modèle.")
@click.option("--force", is_flag=True,
              help="Avec --snapshot : archiver même plus que la part permise "
                   "(IMPORT_MAX_ARCHIVE_SHARE) des enregistrements de la source.")
@click.option("--batch-size", default=2000, show_default=True, help="Enregistrements par lot validé.")
@click.option("--departement", default=None,
              help="data-inclusion-api : code du département (défaut : DEPARTEMENT_CODE).")
@click.option("--token", default=None,
              help="data-inclusion-api : jeton de l'API (défaut : DATA_INCLUSION_API_TOKEN).")
@click.option("--producteur", "producers", multiple=True,
              help="data-inclusion-api : ne lire que ce producteur (dora, france-travail…) ; répétable.")
@click.option("--page-size", default=None, type=int,
              help="data-inclusion-api : enregistrements par page demandée (défaut : 1000, au plus 10000).")
@click.option("--spool", "spool_dir", type=click.Path(file_okay=False),
              help="data-inclusion-api : dossier des pages reçues (reprise ; défaut : dossier temporaire).")
@click.option("--force-archive", is_flag=True,
              help="data-inclusion-api : archiver même une large part des offres d'un producteur.")
@with_appcontext
def import_run(source, location, snapshot, mapping_path, producer, force, batch_size, departement, token,
               producers, page_size, spool_dir, force_archive):
    if source == NATIONAL:
        _run_national(location, departement=departement, token=token, producers=producers,
                      page_size=page_size, spool_dir=spool_dir, force_archive=force_archive or force,
                      batch_size=batch_size)
        return
    if not location:
        raise click.UsageError("indiquez le fichier, le dossier ou l'URL à importer (LOCATION)")
    options = {}
    if producer is not None:
        if source != "data-inclusion":
            raise click.UsageError("--source ne s'utilise qu'avec la source data-inclusion")
        if not re.match(r"^[a-z0-9][a-z0-9_.:-]{1,60}$", producer):
            raise click.BadParameter(
                "minuscules, chiffres, tirets, 2 à 61 caractères (ex. mission-locale-laon)",
                param_hint="--source")
        options[datainclusion.DEFAULT_SOURCE] = producer
    try:
        if source == "partenaire":
            text = Path(mapping_path).read_text(encoding="utf-8") if mapping_path else default_mapping_text()
            options["mapping"] = parse_mapping(text)
        with workdir() as tmp:
            try:
                prepared = registry.prepare(source, location, Path(tmp), options)
            except ImporterError as exc:
                loader = registry.Loader(sessions(), source, registry.get(source).normalise,
                                         location=location, snapshot=snapshot, options=options)
                loader.fail(str(exc))
                _show(loader.run_id)
                raise click.ClickException(str(exc)) from exc
            with click.progressbar(length=prepared.total, label="Enregistrements importés") as bar:
                try:
                    loader = registry.execute(
                        sessions(), prepared, snapshot=snapshot, options=options,
                        geocoder=_geocoder(), progress=bar.update, batch_size=batch_size,
                        force=force, max_archive_share=settings().import_max_archive_share,
                    )
                except ArchiveShareExceeded as exc:
                    click.echo()
                    _show(exc.run_id)
                    raise click.ClickException(str(exc)) from exc
    except ImporterError as exc:
        raise click.ClickException(str(exc)) from exc
    _show(loader.run_id)


def _run_national(location, *, departement, token, producers, page_size, spool_dir, force_archive,
                  batch_size) -> None:
    """offre import run data-inclusion-api: every page first (shown as received),
    then the load (a progress bar), then the report."""
    from importers import national

    config = settings()
    run = national.NationalRun(
        sessions(), base_url=location or config.data_inclusion_api_url,
        token=token if token is not None else config.data_inclusion_api_token,
        departement=departement or config.departement_code, producers=tuple(producers),
        page_size=page_size or national.DEFAULT_PAGE_SIZE,
        spool_dir=Path(spool_dir) if spool_dir else None, force_archive=force_archive,
        geocoder=_geocoder(), batch_size=batch_size,
    )
    run.loader.max_archive_share = config.import_max_archive_share
    try:
        fetched = run.fetch(progress=click.echo)
    except ImporterError as exc:
        if getattr(exc, "run_id", None):
            _show(exc.run_id)
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Reçus : {len(fetched.structures)} structures et {len(fetched.services)} offres.")
    with click.progressbar(length=fetched.total, label="Enregistrements importés") as bar:
        loader = run.load(progress=bar.update)
    _show(loader.run_id)


@import_group.command("report", help="Affiche à nouveau le rapport d'un import.")
@click.argument("run_id", type=int)
@with_appcontext
def import_report(run_id):
    _show(run_id)


@import_group.command("retry", help=(
    "Réessaie des enregistrements en quarantaine (après une correction du référentiel, "
    "du vocabulaire ou de la donnée) : ceux d'un import (RUN_ID), ou un seul (--id)."
))
@click.argument("run_id", type=int, required=False)
@click.option("--id", "quarantine_id", type=int, help="Un enregistrement en quarantaine.")
@click.option("--payload", type=click.Path(exists=True, dir_okay=False),
              help="Avec --id : remplacer la donnée brute par ce fichier JSON corrigé.")
@with_appcontext
def import_retry(run_id, quarantine_id, payload):
    from importers.retry import retry

    if run_id is None and quarantine_id is None:
        raise click.UsageError("indiquez le numéro d'un import (RUN_ID) ou --id")
    replacement = None
    if payload:
        if quarantine_id is None:
            raise click.UsageError("--payload ne s'utilise qu'avec --id")
        try:
            replacement = json.loads(Path(payload).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise click.ClickException(f"{payload} : JSON invalide ({exc})") from exc
    try:
        runs = retry(sessions(), run_id=run_id, quarantine_id=quarantine_id, payload=replacement)
    except ImporterError as exc:
        raise click.ClickException(str(exc)) from exc
    if not runs:
        click.echo("Aucun enregistrement en attente dans la quarantaine.")
    for new_run in runs:
        _show(new_run)


commands = [import_group]
