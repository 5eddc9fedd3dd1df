"""The steering's pages (/pilotage/…): coverage (gaps by commune, territory and
thematic), unmet demand, the dashboard and their CSV exports."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import abort, render_template, request

from catalogue import coverage, cto, spreadsheet, steering, vocabulary
from catalogue import levers as lever_rules
from catalogue.schemas import parse_int
from geo import lookup, territories
from geo.map_config import add_choropleth
from web import maps
from web.access import steering_required
from web.cto import charts, common, views
from web.cto.common import bp
from web.db import get_session

_DEPARTEMENT = re.compile(r"^(\d{2}|2[AB]|97\d)$")
DEFAULT_WEEKS = 12


# ------------------------------------------------------------------- coverage

def _area(session, args) -> tuple[str, str, list[str]] | tuple[None, str, None]:
    """(key, label, communes) of the area asked (?territoire=slug or
    ?departement=02), or (None, error message, None)."""
    slug = (args.get("territoire") or "").strip()
    dep = (args.get("departement") or "").strip().upper()
    if slug:
        if not common.SLUG.match(slug):
            return None, f"territoire : identifiant invalide « {slug} »", None
        nom = territories.territory_name(session, slug)
        if nom is None:
            return None, f"territoire : territoire inconnu « {slug} »", None
        return f"territoire={slug}", f"Territoire : {nom}", coverage.communes_of_territory(session, slug) or []
    dep = dep or common.settings().departement_code
    if not _DEPARTEMENT.match(dep):
        return None, f"departement : « {dep} » n'est pas un code de département", None
    nom = lookup.departement_name(session, dep)
    if nom is None:
        return None, f"departement : département inconnu « {dep} »", None
    return f"departement={dep}", f"Département : {nom} ({dep})", coverage.communes_of_departement(session, dep)


def _coverage_args(session):
    args = request.args
    key, label, communes = _area(session, args)
    if key is None:
        abort(400, description=label)
    thematique = (args.get("thematique") or "mobilite").strip()
    if thematique not in lever_rules.barrier_codes():
        abort(400, description=f"thematique : thématique inconnue « {thematique} »")
    raw = (args.get("rayon") or "30").strip()
    if parse_int(raw) not in coverage.RADII_KM:
        abort(400, description=f"rayon : {raw} km n'est pas un des rayons proposés (10, 30 ou 50 km)")
    return key, label, communes, thematique, parse_int(raw)


@bp.get("/pilotage/couverture")
@steering_required
def coverage_page():
    session = get_session()
    key, label, communes, thematique, radius = _coverage_args(session)
    result = coverage.coverage(session, communes, thematique)
    settings = common.settings()
    geojson = coverage.gap_geojson(session, result, radius)
    m = maps.new_map(tiles_url=settings.tiles_url, attribution=settings.tiles_attribution,
                     label=f"Carte des communes sans offre sur place à moins de {radius} km")
    add_choropleth(m, geojson, views.BAND_COLOURS, views.BAND_LABELS, radius)
    bands = []
    for band, band_label in views.BAND_LABELS.items():
        rows = [r for r in result.rows if r.band == band]
        bands.append({"band": band, "label": band_label, "colour": views.BAND_COLOURS[band], "communes": len(rows),
                      "population": sum(r.population for r in rows)})
    return render_template(
        "cto/coverage.html",
        area_key=key, area_label=label, thematique=thematique, thematique_label=lever_rules.barrier_label(thematique),
        radius=radius, radii=coverage.RADII_KM, result=result, gaps=result.gaps(radius),
        summary=coverage.summary(result), bands=bands, map=maps.render(m),
        groups=views.thematique_options(), territories=territories.territory_names(session),
        departement=request.args.get("departement", ""), territoire=request.args.get("territoire", ""),
        query_string=request.query_string.decode(),
    )


def _synthesis(session, radius: int):
    dep = common.settings().departement_code
    areas = {"departement=" + dep: coverage.communes_of_departement(session, dep)}
    names = {"departement=" + dep: f"Département ({dep})"}
    for slug, nom, communes in territories.territory_members(session):
        areas["territoire=" + slug] = communes
        names["territoire=" + slug] = nom
    groups = [g.code for g in vocabulary.spie_groups()]
    return names, coverage.matrix(session, areas, groups, radius)


def _radius_arg() -> int:
    raw = (request.args.get("rayon") or "30").strip()
    if parse_int(raw) not in coverage.RADII_KM:
        abort(400, description=f"rayon : {raw} km n'est pas un des rayons proposés (10, 30 ou 50 km)")
    return parse_int(raw)


@bp.get("/pilotage/couverture/synthese")
@steering_required
def coverage_synthesis():
    session = get_session()
    radius = _radius_arg()
    names, table = _synthesis(session, radius)
    return render_template("cto/coverage_synthesis.html", names=names, table=table, radius=radius,
                           radii=coverage.RADII_KM, spie=vocabulary.spie_groups())


@bp.get("/pilotage/couverture/synthese.csv")
@steering_required
def coverage_synthesis_csv():
    session = get_session()
    radius = _radius_arg()
    names, table = _synthesis(session, radius)
    rows = []
    for key, by_group in table.items():
        for g in vocabulary.spie_groups():
            cell = by_group[g.code]
            rows.append([names[key], g.label, cell["communes"], cell["gap_communes"], cell["population"],
                         cell["gap_population"]])
    data = spreadsheet.rows_csv(
        f"Communes sans offre sur place à moins de {radius} km, par territoire et thématique du SPIE, au {common.today():%d/%m/%Y}",
        ["Territoire", "Thématique", "Communes", "Communes sans offre sur place", "Population",
         "Population concernée"],
        rows,
    )
    return common.csv(data, f"zones-blanches-{radius}km-{common.today():%Y-%m-%d}.csv")


@bp.get("/pilotage/couverture.csv")
@steering_required
def coverage_csv():
    session = get_session()
    key, label, communes, thematique, _radius = _coverage_args(session)
    result = coverage.coverage(session, communes, thematique)
    data = coverage.coverage_csv(label, result, f"Export du {common.now():%d/%m/%Y à %H:%M}")
    return common.csv(data, f"couverture-{thematique}-{common.today():%Y-%m-%d}.csv")


# ------------------------------------------------------------------- unmet demand

def _weeks() -> int:
    raw = (request.args.get("semaines") or str(DEFAULT_WEEKS)).strip()
    weeks = parse_int(raw)
    if weeks is None or not 1 <= weeks <= 104:
        abort(400, description=f"semaines : un nombre de semaines entre 1 et 104, reçu « {raw} »")
    return weeks


def _group_label(code: str | None) -> str:
    if code is None:
        return "Sans thématique"
    group = vocabulary.spie_group_by_code().get(code)
    return group.label if group else code


@bp.get("/pilotage/demande")
@steering_required
def demand():
    session = get_session()
    weeks = _weeks()
    since = common.today() - timedelta(weeks=weeks)
    rows = cto.unmet_demand(session, since)
    for r in rows:
        r["groupe_label"] = _group_label(r["groupe"])
    weekly = cto.weekly_totals(session, since)
    chart = charts.bar_chart(
        [(f"Semaine du {w['week']:%d/%m/%Y}", w["zero"]) for w in weekly],
        title="Recherches sans résultat, par semaine", chart_id="ch-semaines",
    ) if weekly else None
    return render_template("cto/demand.html", rows=rows, weeks=weeks, low=cto.LOW_RESULTS, weekly=weekly,
                           chart=chart, top=_top(session, since), retention=common.settings().search_log_retention_days)


def _top(session, since, limit=10):
    rows = cto.top_unmet(session, since, limit=limit)
    for r in rows:
        r["groupe_label"] = _group_label(r["groupe"])
    return rows


@bp.get("/pilotage/demande.csv")
@steering_required
def demand_csv():
    session = get_session()
    weeks = _weeks()
    rows = cto.unmet_demand(session, common.today() - timedelta(weeks=weeks), limit=100_000)
    data = spreadsheet.rows_csv(
        f"Recherches sans ou avec peu de résultats (1 à {cto.LOW_RESULTS}), {weeks} dernières semaines",
        ["Semaine du", "Thématique du SPIE", "Code INSEE", "Commune", "Recherches", "Sans résultat", "Peu de résultats",
         "Aucune réponse de proximité"],
        [[f"{r['week']:%d/%m/%Y}", _group_label(r["groupe"]), r["code_commune"] or "", r["commune"] or "non précisée",
          r["searches"], r["zero"], r["low"], r["no_nearby"]] for r in rows],
    )
    return common.csv(data, f"demande-non-satisfaite-{common.today():%Y-%m-%d}.csv")


# ------------------------------------------------------------------- dashboard

def _dashboard_data(session) -> dict:
    today = common.today()
    groups = steering.by_group(session, today)
    return {
        "totals": steering.totals(session, today),
        "groups": groups,
        "territories": steering.by_territory(session, common.settings().departement_code),
        "sources": steering.by_source(session, today),
        "duplicates": steering.duplicates(session),
        "top": _top(session, today - timedelta(weeks=DEFAULT_WEEKS)),
        "spie": vocabulary.spie_groups(),
    }


@bp.get("/pilotage")
@steering_required
def dashboard():
    session = get_session()
    data = _dashboard_data(session)
    data["charts"] = {
        "offers": charts.bar_chart([(g["label"], g["offers"]) for g in data["groups"]],
                                   title="Offres publiées par thématique du SPIE", chart_id="ch-offres"),
        "fresh": charts.bar_chart([(g["label"], g["fresh_pct"]) for g in data["groups"]],
                                  title="Part des offres à jour par thématique (%)", unit=" %", max_value=100,
                                  chart_id="ch-fraicheur"),
        "sources": charts.bar_chart([(s["source"], s["offers"]) for s in data["sources"]],
                                    title="Offres publiées par source", chart_id="ch-sources"),
    }
    data["weeks"] = DEFAULT_WEEKS
    return render_template("cto/dashboard.html", **data)


EXPORTS = ("thematiques", "territoires", "sources", "besoins")


@bp.get("/pilotage/export/<name>.csv")
@steering_required
def dashboard_csv(name):
    if name not in EXPORTS:
        abort(404)
    session = get_session()
    data = _dashboard_data(session)
    stamp = f"au {common.today():%d/%m/%Y}"
    if name == "thematiques":
        body = spreadsheet.rows_csv(f"Offres par thématique du SPIE {stamp}",
                              ["Thématique", "Offres publiées", "À jour", "Part à jour (%)"],
                              [[g["label"], g["offers"], g["fresh"], g["fresh_pct"]] for g in data["groups"]])
    elif name == "territoires":
        body = spreadsheet.rows_csv(f"Offres par territoire et thématique du SPIE {stamp}",
                              ["Territoire", *[g.label for g in data["spie"]]],
                              [[t["nom"], *[t["by_group"][g.code] for g in data["spie"]]] for t in data["territories"]])
    elif name == "sources":
        body = spreadsheet.rows_csv(f"Offres par source {stamp}",
                              ["Source", "Offres publiées", "À jour", "Part à jour (%)", "Signalées en doublon"],
                              [[s["source"], s["offers"], s["fresh"], s["fresh_pct"], s["duplicates"]]
                               for s in data["sources"]])
    else:
        body = spreadsheet.rows_csv(f"Besoins non satisfaits ({DEFAULT_WEEKS} dernières semaines) {stamp}",
                              ["Thématique du SPIE", "Code INSEE", "Commune", "Recherches", "Sans résultat",
                               "Peu de résultats", "Aucune réponse de proximité"],
                              [[t["groupe_label"], t["code_commune"] or "", t["commune"] or "non précisée",
                                t["searches"], t["zero"], t["low"], t["no_nearby"]] for t in data["top"]])
    return common.csv(body, f"pilotage-{name}-{common.today():%Y-%m-%d}.csv")


