"""Coverage of the offer: how many eligible offers reach each commune, for a
thematique (SPIE thematic, data·inclusion category or thematique), computed in
PostGIS in one set-based query for the three radii at once.

An offer reaches a commune when it is published (and its structure too), not a
duplicate hidden from the search, tagged with one of the thematiques, eligible there (empty zone,
or a zone holding the commune, its commune for an arrondissement, its EPCI, its
département or "france" — the data·inclusion semantics the search uses), and
either received on site within the radius of the commune centre, or given
remotely. A service without mode d'accueil counts as on site; an on-site service
without a place reaches no commune on site (as in the search).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from catalogue import vocabulary
from catalogue.spreadsheet import SafeCsvWriter
from geo.distances import LAMBERT93

RADII_KM = (10, 30, 50)  # the SQL below compares squared metres: 1e8, 9e8, 2.5e9
MAX_RADIUS_KM = max(RADII_KM)

# Distances in Lambert-93 (EPSG:2154, metres): planar and fast, within a few per
# mille of the geodesic distance at the scale of metropolitan France (overseas
# départements would need their own projection: see docs/performance.md).
# Services are first grouped by (place, zone, modes): offers of one structure
# share a place, so the commune x service join handles far fewer rows.
_COVERAGE_SQL = text(
    """
    WITH c0 AS (
        SELECT g.code, g.nom, coalesce(g.population, 0) AS population,
               ST_Transform(coalesce(g.centre::geometry,
                   (SELECT ST_Centroid(ST_Collect(a.centre::geometry))
                    FROM geo_commune a WHERE a.parent_code = g.code)), 2154) AS pt,
               array_remove(ARRAY[g.code::text, g.parent_code::text, g.epci_code::text,
                                  g.departement_code::text, 'france'], NULL) AS covering
        FROM geo_commune g
        WHERE g.code = ANY(CAST(:communes AS varchar[]))
    ),
    c AS MATERIALIZED (
        SELECT c0.*, ST_X(c0.pt) AS cx, ST_Y(c0.pt) AS cy FROM c0
    ),
    area AS (
        SELECT CAST(ST_Envelope(ST_Collect(ST_Transform(pt, 4326))) AS geography) AS box FROM c
    ),
    s AS MATERIALIZED (
        SELECT ST_X(x.pt) AS px, ST_Y(x.pt) AS py, x.zone, x.on_site, x.remote, count(*) AS n
        FROM (
            SELECT CASE WHEN (s.modes_accueil = '{}' OR 'en-presentiel' = ANY (s.modes_accueil))
                             AND s.location IS NOT NULL
                        THEN ST_Transform(s.location::geometry, 2154) END AS pt,
                   s.zone_eligibilite AS zone,
                   (s.modes_accueil = '{}' OR 'en-presentiel' = ANY (s.modes_accueil))
                       AND s.location IS NOT NULL AS on_site,
                   'a-distance' = ANY (s.modes_accueil) AS remote
            FROM service s
            JOIN structure st ON st.id = s.structure_id
            CROSS JOIN area
            WHERE s.status = 'publie' AND st.status = 'publie' AND NOT s.duplicate_hidden
              AND s.thematiques && CAST(:thematiques AS text[])
              AND ('a-distance' = ANY (s.modes_accueil) OR ST_DWithin(s.location, area.box, :max_m))
        ) x
        WHERE x.on_site OR x.remote
        GROUP BY x.pt, x.zone, x.on_site, x.remote
    )
    SELECT c.code, c.nom, c.population, agg.*
    FROM c
    CROSS JOIN LATERAL (
        -- per commune: the reachable groups folded into at most 8 (band, remote)
        -- rows first (one sum, one min per row), then the counts from those
        SELECT coalesce(sum(g.n) FILTER (WHERE g.b <= 1), 0) AS on_site_10,
               coalesce(sum(g.n) FILTER (WHERE g.b <= 2), 0) AS on_site_30,
               coalesce(sum(g.n) FILTER (WHERE g.b <= 3), 0) AS on_site_50,
               coalesce(sum(g.n) FILTER (WHERE g.remote), 0) AS remote,
               coalesce(sum(g.n) FILTER (WHERE g.remote OR g.b <= 1), 0) AS reach_10,
               coalesce(sum(g.n) FILTER (WHERE g.remote OR g.b <= 2), 0) AS reach_30,
               coalesce(sum(g.n), 0) AS reach_50,
               sqrt(min(g.d2)) AS nearest_m
        FROM (
            SELECT x.b, x.remote, sum(x.n) AS n, min(x.d2) AS d2
            FROM (
                -- squared planar distance in plain arithmetic: much cheaper than a
                -- PostGIS call per commune x service pair
                SELECT s.n, s.remote, d.d2,
                       CASE WHEN d.d2 <= 1e8 THEN 1 WHEN d.d2 <= 9e8 THEN 2 WHEN d.d2 <= 2.5e9 THEN 3 END AS b
                FROM s, LATERAL (SELECT (s.px - c.cx) ^ 2 + (s.py - c.cy) ^ 2 AS d2) d
                WHERE (s.zone = '{}' OR s.zone && c.covering) AND (s.remote OR d.d2 <= 2.5e9)
            ) x
            GROUP BY x.b, x.remote
        ) g
    ) agg
    ORDER BY c.nom, c.code
    """
)


@dataclass(frozen=True)
class CommuneCoverage:
    code: str
    nom: str
    population: int
    on_site: dict[int, int]  # radius km -> eligible offers received on site within it
    remote: int  # eligible offers given remotely (mixed ones included)
    reachable: dict[int, int]  # radius km -> eligible offers, remote or on site within it
    nearest_km: float | None  # nearest eligible on-site offer, if within MAX_RADIUS_KM

    def gap(self, radius_km: int) -> bool:
        """No on-site offer within the radius."""
        return self.on_site[radius_km] == 0

    @property
    def band(self) -> int | None:
        """The smallest radius of RADII_KM holding an on-site offer; None: none
        within MAX_RADIUS_KM."""
        for r in RADII_KM:
            if self.on_site[r]:
                return r
        return None


@dataclass(frozen=True)
class Coverage:
    thematique: str  # a SPIE group, a category or a thematique code
    rows: tuple[CommuneCoverage, ...]

    def gaps(self, radius_km: int) -> tuple[CommuneCoverage, ...]:
        """Communes with no on-site offer within the radius."""
        return tuple(r for r in self.rows if r.gap(radius_km))

    def gap_population(self, radius_km: int) -> int:
        return sum(r.population for r in self.gaps(radius_km))

    def without_any(self, radius_km: int) -> tuple[CommuneCoverage, ...]:
        """Communes that no offer reaches at all (neither on site nor remotely)."""
        return tuple(r for r in self.rows if r.reachable[radius_km] == 0)

    @property
    def population(self) -> int:
        return sum(r.population for r in self.rows)


def check_radius(radius_km: int) -> int:
    if radius_km not in RADII_KM:
        raise ValueError(f"rayon : {radius_km} km n'est pas un des rayons proposés (10, 30 ou 50 km)")
    return radius_km


def communes_of_territory(session: Session, slug: str) -> list[str] | None:
    """The communes of a territory; None when the territory does not exist."""
    return session.scalar(text("SELECT communes FROM geo_territory WHERE slug = :s"), {"s": slug})


def communes_of_departement(session: Session, code: str) -> list[str]:
    """The communes of a département (municipal arrondissements left out)."""
    return list(
        session.scalars(
            text("SELECT code FROM geo_commune WHERE departement_code = :d AND type = 'COM' ORDER BY code"),
            {"d": code},
        )
    )


def coverage(session: Session, communes: list[str], thematique: str) -> Coverage:
    """For each commune of `communes`, the eligible offers of `thematique` (SPIE
    group, category or thematique) on site within 10, 30 and 50 km, and remote.
    Raises KeyError for an unknown thematique code."""
    codes = vocabulary.expand_thematiques([thematique])
    # The planner's cost estimate of this query is high enough to trigger JIT
    # compilation, which costs more (1-2 s) than the query itself.
    session.execute(text("SET LOCAL jit = off"))
    rows = session.execute(
        _COVERAGE_SQL,
        {"communes": list(communes), "thematiques": codes, "max_m": MAX_RADIUS_KM * 1000.0},
    ).all()
    return Coverage(
        thematique=thematique,
        rows=tuple(
            CommuneCoverage(
                code=r.code,
                nom=r.nom,
                population=int(r.population),
                on_site={10: int(r.on_site_10), 30: int(r.on_site_30), 50: int(r.on_site_50)},
                remote=int(r.remote),
                reachable={10: int(r.reach_10), 30: int(r.reach_30), 50: int(r.reach_50)},
                nearest_km=round(r.nearest_m / 1000, 1) if r.nearest_m is not None else None,
            )
            for r in rows
        ),
    )


def summary(result: Coverage) -> list[dict]:
    """Per radius: communes and population with no on-site offer within it, and
    communes that no offer reaches at all."""
    return [
        {
            "radius_km": r,
            "gap_communes": len(result.gaps(r)),
            "gap_population": result.gap_population(r),
            "no_offer_communes": len(result.without_any(r)),
            "communes": len(result.rows),
            "population": result.population,
        }
        for r in RADII_KM
    ]


def shapes(session: Session, codes: list[str], *, tolerance_m: float = 150.0) -> dict[str, dict]:
    """Contours of the communes (GeoJSON geometries, 4 decimals ≈ 10 m), simplified in
    Lambert-93 with a tolerance in metres (planar work in metres, as geo.distances)."""
    rows = session.execute(
        text(
            """
            SELECT code, ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(
                       ST_Transform(contour, :plane), :tol), 4326), 4) AS geometry
            FROM geo_commune WHERE code = ANY(CAST(:codes AS varchar[])) AND contour IS NOT NULL
            """
        ),
        {"codes": list(codes), "tol": tolerance_m, "plane": LAMBERT93},
    ).all()
    return {code: json.loads(geometry) for code, geometry in rows}


def gap_geojson(session: Session, result: Coverage, radius_km: int, *, tolerance_m: float = 150.0) -> dict:
    """The communes of `result` as a GeoJSON FeatureCollection, with `code`, `nom`,
    `population`, `on_site` (within the radius), `remote`, `band` (smallest radius
    with an on-site offer, null beyond 50 km) and `gap` (no on-site offer within
    the radius) in the properties."""
    by_code = {r.code: r for r in result.rows}
    features = []
    for code, geometry in shapes(session, list(by_code), tolerance_m=tolerance_m).items():
        row = by_code[code]
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "code": row.code,
                    "nom": row.nom,
                    "population": row.population,
                    "on_site": row.on_site[radius_km],
                    "remote": row.remote,
                    "band": row.band,
                    "gap": row.gap(radius_km),
                },
            }
        )
    features.sort(key=lambda f: f["properties"]["code"])
    return {"type": "FeatureCollection", "features": features}


def matrix(session: Session, areas: dict[str, list[str]], thematiques: list[str], radius_km: int) -> dict:
    """For each area (key -> communes) x thematique: communes and population with
    no on-site offer within the radius, and the area's communes and population.
    One coverage query per thematique over the union of the areas' communes (a
    commune's coverage does not depend on the area it is seen from)."""
    check_radius(radius_km)
    union = sorted({c for communes in areas.values() for c in communes})
    out: dict[str, dict[str, dict]] = {key: {} for key in areas}
    for thematique in thematiques:
        rows = {r.code: r for r in coverage(session, union, thematique).rows}
        for key, communes in areas.items():
            mine = [rows[c] for c in communes if c in rows]
            gaps = [r for r in mine if r.gap(radius_km)]
            out[key][thematique] = {
                "gap_communes": len(gaps),
                "gap_population": sum(r.population for r in gaps),
                "communes": len(mine),
                "population": sum(r.population for r in mine),
            }
    return out


def coverage_csv(area_label: str, result: Coverage, generated: str) -> bytes:
    """The coverage of an area, one row per commune, as a CSV a French spreadsheet opens."""
    out = io.StringIO()
    w = SafeCsvWriter(out, delimiter=";")
    w.writerow([f"Couverture de l'offre — {area_label} — thématique : {vocabulary.thematique_label(result.thematique)}"])
    w.writerow([generated])
    w.writerow([])
    w.writerow(["Code INSEE", "Commune", "Population", "Sur place ≤ 10 km", "Sur place ≤ 30 km", "Sur place ≤ 50 km",
                "À distance", "Joignables ≤ 10 km ou à distance", "Joignables ≤ 30 km ou à distance",
                "Joignables ≤ 50 km ou à distance", "Plus proche sur place (km)",
                "Sans offre sur place à 10 km", "à 30 km", "à 50 km"])
    for r in result.rows:
        w.writerow([r.code, r.nom, r.population, r.on_site[10], r.on_site[30], r.on_site[50], r.remote,
                    r.reachable[10], r.reachable[30], r.reachable[50],
                    "" if r.nearest_km is None else str(r.nearest_km).replace(".", ","),
                    *("oui" if r.gap(k) else "non" for k in RADII_KM)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
