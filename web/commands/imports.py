"""offre import SOURCE PATH_OR_URL [--snapshot], offre import report RUN_ID,
offre import retry …"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from importers import registry
from importers.errors import ImporterError
from importers.models import ImportRun
from importers.readers import workdir
from importers.sources.partner import default_mapping_text, parse_mapping
from web.commands.base import sessions, settings

LABELS = {
    "lus": "lus", "crees": "créés", "modifies": "modifiés", "inchanges": "inchangés",
    "archives": "archivés", "rejetes": "rejetés", "doublons": "doublons trouvés (masqués ou proposés)",
}


def _geocoder():
    from geo import geocoding

    url = settings().geocoder_url
    factory = getattr(geocoding, "make_geocoder", None)
    if not url or factory is None:
        return None
    session = sessions()()
    return factory(session, url)


def print_report(run: ImportRun) -> None:
    report = run.report or {}
    state = {"termine": "terminé", "echoue": "échoué", "en-cours": "en cours (ou interrompu)"}
    click.echo(f"Import n° {run.id} — source {run.source} — {run.location}")
    click.echo(f"État : {state.get(run.status, run.status)}"
               + (" — instantané complet" if run.snapshot else ""))
    if run.error:
        click.echo(f"Erreur : {run.error}")
        click.echo("Le catalogue n'a pas été modifié.")
    for kind, title in (("structure", "Structures"), ("service", "Offres")):
        counts = (report.get("compteurs") or {}).get(kind)
        if counts:
            click.echo(f"{title} : " + ", ".join(f"{counts.get(k, 0)} {v}" for k, v in LABELS.items()))
    warnings = report.get("avertissements") or {}
    if warnings:
        click.echo("Avertissements :")
        for text, n in warnings.items():
            click.echo(f"  {n} × {text}")
    rejections = report.get("rejets") or []
    if rejections:
        click.echo(f"Rejets ({report.get('rejets_total', len(rejections))}, en quarantaine) :")
        for r in rejections:
            where = f"ligne {r['ligne']}, " if r.get("ligne") else ""
            ident = r.get("id") or "sans identifiant"
            click.echo(f"  - {r['type']} {ident} ({where}source {r.get('source') or '?'}) : {r['motif']}")
        if report.get("rejets_total", 0) > len(rejections):
            click.echo(f"  … et {report['rejets_total'] - len(rejections)} autres (voir la quarantaine).")


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


@import_group.command("run", help="Importe un fichier, un dossier ou une URL (sources : "
                      + ", ".join(registry.SOURCES) + ").")
@click.argument("source", type=click.Choice(list(registry.SOURCES)))
@click.argument("location")
@click.option("--snapshot", is_flag=True,
              help="Le fichier est complet : archiver (sans supprimer) ce qui n'y figure plus.")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False),
              help="Correspondance YAML des colonnes (source partenaire ; défaut : le modèle).")
@click.option("--batch-size", default=2000, show_default=True, help="Enregistrements par lot validé.")
@with_appcontext
def import_run(source, location, snapshot, mapping_path, batch_size):
    options = {}
    try:
        if source == "partenaire":
            text = Path(mapping_path).read_text(encoding="utf-8") if mapping_path else default_mapping_text()
            options["mapping"] = parse_mapping(text)
        with workdir() as tmp:
            try:
                prepared = registry.prepare(source, location, Path(tmp))
            except ImporterError as exc:
                loader = registry.Loader(sessions(), source, registry.get(source).normalise,
                                         location=location, snapshot=snapshot, options=options)
                loader.fail(str(exc))
                _show(loader.run_id)
                raise click.ClickException(str(exc)) from exc
            with click.progressbar(length=prepared.total, label="Enregistrements importés") as bar:
                loader = registry.execute(
                    sessions(), prepared, snapshot=snapshot, options=options,
                    geocoder=_geocoder(), progress=bar.update, batch_size=batch_size,
                )
    except ImporterError as exc:
        raise click.ClickException(str(exc)) from exc
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
