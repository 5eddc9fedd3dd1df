"""Read queries shared by the engines: where a search happens, what a territory
holds, which services are open at a given time."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from catalogue import hours
from geo.eligibility import covering_of
from search.contract import SearchQuery
from search.errors import InvalidQuery

# Distances on the sphere: within 0.5 % of the spheroid at these ranges, what
# Meilisearch's _geo uses, and far cheaper. PostGIS's sphere (its mean radius), in
# plain arithmetic on the unit vectors stored in search_document (x, y, z): the
# same metres as ST_Distance(…, use_spheroid => false) to the millimetre, without
# the 4 µs per row that each PostGIS geography call costs.
EARTH_RADIUS_M = 6371008.7714


# Size of the grid cells of places received on site (search_document.zone holds
# `g:<floor(lat / step)>:<floor(lon / step)>`, written by search_refresh_rows of
# migrations 0010 and 0031 with the same step): about 28 km north-south.
GRID_DEGREES = 0.25


def grid_cells(lon: float, lat: float, radius_m: float) -> list[str]:
    """The grid cells that hold every point within radius_m of (lon, lat)."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    widest = max(abs(south), abs(north))
    # The box's half-width in longitude at its latitude farthest from the equator.
    dlon = 180.0 if widest >= 89.0 else min(180.0, dlat / math.cos(math.radians(widest)))
    rows = range(math.floor(south / GRID_DEGREES), math.floor(north / GRID_DEGREES) + 1)
    columns = range(math.floor((lon - dlon) / GRID_DEGREES), math.floor((lon + dlon) / GRID_DEGREES) + 1)
    return [f"g:{i}:{j}" for i in rows for j in columns]


def unit_vector(lon: float, lat: float) -> tuple[float, float, float]:
    """The point (degrees) as a unit vector, as search_refresh stores it."""
    lam, phi = math.radians(lon), math.radians(lat)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


@dataclass(frozen=True)
class Place:
    """The searched commune and point (lon, lat)."""

    code_commune: str
    covering: tuple[str, ...]  # zone codes that cover the commune (with "france")
    point: tuple[float, float]


# The row of a search's place: (code, parent_code, epci_code, departement_code, lon,
# lat) of the commune :c (its centre; Paris, Lyon, Marseille: the centre of their
# arrondissements if none), or (lon, lat NULL) of the commune that holds the point
# (:lon, :lat). Also a subquery of the PostgreSQL engine's first statement.
COMMUNE_PLACE_SQL = (
    "SELECT c.code, c.parent_code, c.epci_code, c.departement_code, "
    "ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat FROM geo_commune c, "
    "LATERAL (SELECT coalesce(c.centre::geometry, (SELECT ST_Centroid(ST_Collect(a.centre::geometry)) "
    "FROM geo_commune a WHERE a.parent_code = c.code)) AS pt) p WHERE c.code = :c"
)
POINT_PLACE_SQL = (
    "SELECT code, parent_code, epci_code, departement_code, "
    "CAST(NULL AS double precision) AS lon, CAST(NULL AS double precision) AS lat FROM geo_commune "
    "WHERE ST_Intersects(contour, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
    "ORDER BY (type = 'ARM') DESC LIMIT 1"
)


def place_sql(query: SearchQuery) -> tuple[str, dict] | None:
    """The SQL of the query's place row and its parameters; None when the query
    names neither a commune nor a point."""
    if query.code_commune:
        return COMMUNE_PLACE_SQL, {"c": query.code_commune}
    if query.point:
        lon, lat = query.point
        return POINT_PLACE_SQL, {"lon": lon, "lat": lat}
    return None


def place_of(query: SearchQuery, row) -> Place:
    """The Place of the query from its place row (place_sql; None or a row of NULLs
    when nothing was found: InvalidQuery)."""
    found = row is not None and row.code is not None
    if query.code_commune:
        if not found:
            raise InvalidQuery("code_commune", f"commune inconnue : {query.code_commune}")
        point = query.point or ((row.lon, row.lat) if row.lon is not None else None)
        if point is None:
            raise InvalidQuery("code_commune", f"la commune {row.code} n'a pas de position connue")
    else:
        lon, lat = query.point
        if not found:
            raise InvalidQuery("lat", f"le point ({lat}, {lon}) n'est dans aucune commune française")
        point = (lon, lat)
    covering = covering_of(row.code, row.parent_code, row.epci_code, row.departement_code)
    return Place(row.code, tuple(covering), point)


def resolve_place(session: Session, query: SearchQuery) -> Place | None:
    """The place of the search: the commune (its centre unless a point is given),
    or the commune that holds the point. None when neither is given."""
    found = place_sql(query)
    if found is None:
        return None
    sql, params = found
    return place_of(query, session.execute(text(sql), params).first())


def territory_codes(session: Session, slug: str) -> tuple[list[str], list[str]]:
    """(communes of the territory, zone codes that name them explicitly: the
    communes, their EPCI and their départements). InvalidQuery if unknown."""
    communes = session.scalar(
        text("SELECT communes FROM geo_territory WHERE slug = :s"), {"s": slug}
    )
    if communes is None:
        raise InvalidQuery("territoire", f"territoire inconnu : {slug}")
    # Paris, Lyon, Marseille: their arrondissements too (where the catalogue places
    # their offers, catalogue.places).
    communes = list(communes) + list(session.scalars(
        text("SELECT code FROM geo_commune WHERE type = 'ARM' AND parent_code = ANY(CAST(:codes AS varchar[]))"),
        {"codes": list(communes)},
    ))
    zone = session.scalars(
        text(
            """
            SELECT DISTINCT x FROM geo_commune c,
              LATERAL unnest(ARRAY[c.code, c.parent_code, c.epci_code, c.departement_code]) x
            WHERE c.code = ANY(CAST(:codes AS text[])) AND x IS NOT NULL
            """
        ),
        {"codes": list(communes)},
    ).all()
    return list(communes), list(zone)


def check_structure(session: Session, structure_id: uuid.UUID) -> None:
    if not session.scalar(text("SELECT 1 FROM structure WHERE id = :i"), {"i": structure_id}):
        raise InvalidQuery("structure", f"structure inconnue : {structure_id}")


@lru_cache(maxsize=4096)
def _open(expression: str, at: datetime) -> bool:
    return bool(hours.is_open(expression, at))


def open_ids(rows: Iterable[tuple[uuid.UUID, str | None]], at: datetime) -> list[uuid.UUID]:
    """Ids whose opening hours (OpenStreetMap syntax) say open at `at` (local
    time of Paris). No hours or unreadable hours: not known to be open, left out."""
    return [i for i, expression in rows if expression and _open(expression, at)]
