"""Queries of the public map (/carte), whose cost does not grow with the catalogue:
the browser asks for what its viewport shows at its zoom, and the offers are grouped
here, in SQL, on a grid of Web Mercator cells of CELL_PX pixels at that zoom
(count, centroid and extent per cell); a cell holding a single place comes back as
that place (its offers' count and the id of one of them, for the popup). The number
of cells is bounded whatever the bounding box, so a response is bounded whatever
the catalogue. The list alternative without JavaScript is paginated by commune.

By default the map shows the deploying département; `departement=france` widens it
to the whole country. Parameters are read by `map_args`, which raises MapArgError
(a French message naming the field) on any bad value."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from catalogue import permissions, vocabulary
from catalogue.models import Service, Structure

FRANCE = "france"  # the value of `departement` that widens the map to the whole country
FRANCE_BOUNDS = (-5.2, 41.3, 9.6, 51.1)  # metropolitan France, (west, south, east, north)
CELL_PX = 80  # side of a cluster cell, in screen pixels at the asked zoom (markercluster: 80)
MAX_CELLS = 40  # cells per axis at most, whatever the box (a 3,200-pixel-wide screen)
MAX_ZOOM = 18  # at this zoom every place is its own marker
MAX_ROWS = 2500  # a guard at MAX_ZOOM, where cells are places
PAGE_SIZE = 100  # communes per page of the list
SAME_PLACE = 20  # offers listed in the popup of a place holding several

_DEP = re.compile(r"(\d{2}|2[AB]|97\d)")
_DIGITS = re.compile(r"[0-9]{1,6}")
_NUMBER = re.compile(r"-?[0-9]{1,3}(\.[0-9]{1,12})?")


class MapArgError(ValueError):
    """A bad parameter of the map: the message names the field, in French."""


@dataclass(frozen=True)
class MapArgs:
    thematique: str | None
    departement: str | None  # None: the whole country
    page: int = 1
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    zoom: int | None = None


def _int(args: Mapping, field: str, low: int, high: int, default: int | None) -> int | None:
    raw = args.get(field)
    if raw is None or raw == "":
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise MapArgError(f"{field} : « {raw[:40]} » n'est pas un nombre entier entre {low} et {high}.")
    return int(raw)


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    bad = MapArgError(f"bbox : « {raw[:80]} » n'est pas un rectangle ouest,sud,est,nord en degrés.")
    if len(parts) != 4 or not all(_NUMBER.fullmatch(p) for p in parts):
        raise bad
    w, s, e, n = (float(p) for p in parts)
    if not (-180 <= w < e <= 180 and -85.06 <= s < n <= 85.06):
        raise bad
    return w, s, e, n


def map_args(session: Session, args: Mapping, default_departement: str, *, need_view: bool = False) -> MapArgs:
    """The map's parameters read from a query string (thematique, departement, page,
    and for the clusters bbox and zoom, then required)."""
    group = args.get("thematique") or None
    if group and group not in vocabulary.spie_group_by_code():
        raise MapArgError(f"thematique : « {group[:40]} » n'est pas une des dix thématiques du SPIE.")
    departement = args.get("departement") or default_departement
    if departement == FRANCE:
        departement = None
    elif not _DEP.fullmatch(departement) or not session.scalar(
            text("SELECT 1 FROM geo_departement WHERE code = :d"), {"d": departement}):
        raise MapArgError(f"departement : « {departement[:40]} » n'est pas un code de département.")
    found = MapArgs(group, departement, _int(args, "page", 1, 100_000, 1), _bbox(args.get("bbox")),
                    _int(args, "zoom", 0, MAX_ZOOM, None))
    if need_view and found.bbox is None:
        raise MapArgError("bbox : le rectangle affiché (ouest,sud,est,nord) est obligatoire.")
    if need_view and found.zoom is None:
        raise MapArgError("zoom : le niveau de zoom (0 à 18) est obligatoire.")
    return found


def departements(session: Session) -> list[tuple[str, str]]:
    """(code, nom) of every département, for the map's choice."""
    return [tuple(r) for r in session.execute(text("SELECT code, nom FROM geo_departement ORDER BY code"))]


def bounds(session: Session, departement: str | None) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a département's communes, or of metropolitan France."""
    if departement is None:
        return FRANCE_BOUNDS
    box = session.execute(
        text("SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Extent(centre::geometry) AS b "
             "FROM geo_commune WHERE departement_code = :d AND type = 'COM') e"),
        {"d": departement},
    ).one()
    if box[0] is None:
        return FRANCE_BOUNDS
    pad = 0.03  # the communes' centres, not their outlines: a margin of about 3 km
    return (round(box[0] - pad, 4), round(box[1] - pad, 4), round(box[2] + pad, 4), round(box[3] + pad, 4))


def _after_prefix(code: str) -> str:
    """The smallest code after every code that starts with `code` ("59" → "60",
    "2A" → "2B"), in letters and digits only, which every collation orders alike."""
    chars = list(code)
    i = len(chars) - 1
    while i > 0 and chars[i] == "9":
        chars[i] = "0"
        i -= 1
    chars[i] = chr(ord(chars[i]) + 1)
    return "".join(chars)


def _filter(session: Session, a: MapArgs) -> tuple[list[str], dict]:
    """The offers the map shows, on `service s` alone (no join: see
    permissions.PUBLIC_SERVICE_SCAN_SQL), as conditions whose union is the set: a
    département is the communes whose code starts with its code (a range of
    ix_service_map_commune, read by an index-only scan), less or plus the few
    communes associées of another département (read from the référentiel)."""
    clauses = [permissions.PUBLIC_SERVICE_SCAN_SQL, "s.location IS NOT NULL", "NOT s.duplicate_hidden"]
    params: dict = {}
    if a.thematique:
        clauses.append("s.thematiques && :thematiques")
        params["thematiques"] = vocabulary.expand_thematiques([a.thematique])
    if not a.departement:
        return [" AND ".join(clauses)], params
    inside, outside = session.execute(text(
        "SELECT coalesce(array_agg(code) FILTER (WHERE departement_code = :d), '{}'), "
        "coalesce(array_agg(code) FILTER (WHERE departement_code <> :d), '{}') FROM geo_commune "
        "WHERE (departement_code = :d) <> (left(code, char_length(:d)) = :d)"), {"d": a.departement}).one()
    params.update(dep=a.departement, dep_end=_after_prefix(a.departement), dep_len=len(a.departement),
                  dep_in=list(inside), dep_out=list(outside))
    branches = [" AND ".join([*clauses, "s.code_insee >= :dep AND s.code_insee < :dep_end",
                              "left(s.code_insee, :dep_len) = :dep AND NOT s.code_insee = ANY(:dep_out)"])]
    if inside:
        branches.append(" AND ".join([*clauses, "s.code_insee = ANY(:dep_in)"]))
    return branches, params


def _grid(a: MapArgs) -> tuple[float, float]:
    """Cell sides: in degrees of longitude, and in radians of Mercator y (ln tan(π/4 + φ/2))."""
    w, s, e, n = a.bbox
    if a.zoom >= MAX_ZOOM:
        return 1e-6, 1e-8  # finer than the places' 5 decimals: every place apart
    world_px = 256 * 2 ** a.zoom
    dx, dy = 360 * CELL_PX / world_px, 2 * math.pi * CELL_PX / world_px
    merc = lambda lat: math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))  # noqa: E731
    scale = max(1.0, (e - w) / dx / MAX_CELLS, (merc(n) - merc(s)) / dy / MAX_CELLS)
    return dx * scale, dy * scale


_POINTS = """
  SELECT s.location::geometry AS g, s.id FROM service s
  WHERE {where} AND s.location && ST_MakeEnvelope(:iw, :is, :ie, :in, 4326)::geography"""
_CLUSTERS = """
WITH points AS ({points}),
spots AS (
  SELECT round(ST_X(g) * 1e5) / 1e5 AS x, round(ST_Y(g) * 1e5) / 1e5 AS y, count(*) AS n, min(id::text) AS id
  FROM points WHERE ST_X(g) BETWEEN :w AND :e AND ST_Y(g) BETWEEN :s AND :n
  GROUP BY 1, 2
)
SELECT sum(n)::int, count(*)::int, round(sum(x * n) / sum(n) * 1e5) / 1e5,
       round(sum(y * n) / sum(n) * 1e5) / 1e5, min(x), min(y), max(x), max(y), min(id)
FROM spots GROUP BY floor(x / :dx), floor(ln(tan(pi() / 4 + radians(y) / 2)) / :dy)
LIMIT :limit
"""


def map_clusters(session: Session, a: MapArgs) -> dict:
    """What the map shows in `a.bbox` at `a.zoom`: {"zoom", "total" (offers in the
    box), "truncated", "clusters": [[lon, lat, count, west, south, east, north]],
    "points": [[lon, lat, id-hex, count at that place]]}."""
    branches, params = _filter(session, a)
    w, s, e, n = a.bbox
    dx, dy = _grid(a)
    # The geography index finds a box a little larger (a geodesic edge is not a
    # parallel); the exact box is then tested on the coordinates.
    margin = max(0.1, 0.1 * max(e - w, n - s))
    params.update(w=w, s=s, e=e, n=n, dx=dx, dy=dy, limit=MAX_ROWS + 1,
                  iw=max(-180, w - margin), ie=min(180, e + margin), **{"is": max(-89.9, s - margin)},
                  **{"in": min(89.9, n + margin)})
    source = " UNION ALL ".join(_POINTS.format(where=where) for where in branches)
    if e - w > 90:  # a box that wide: no index, the coordinates alone
        source = source.replace("AND s.location && ST_MakeEnvelope(:iw, :is, :ie, :in, 4326)::geography", "")
    rows = session.execute(text(_CLUSTERS.format(points=source)), params).all()
    clusters, points = [], []
    for count, places, x, y, x0, y0, x1, y1, first in rows[:MAX_ROWS]:
        if places == 1:
            points.append([x, y, first.replace("-", ""), count])
        else:
            clusters.append([x, y, count, x0, y0, x1, y1])
    return {"zoom": a.zoom, "total": sum(r[0] for r in rows[:MAX_ROWS]), "truncated": len(rows) > MAX_ROWS,
            "clusters": clusters, "points": points}


def map_communes(session: Session, a: MapArgs) -> dict:
    """One page of the list alternative of the map: {"communes": [{code, nom,
    services}], "page", "pages", "total_communes", "total_offres"}, communes by name."""
    (where,), params = _filter(session, replace(a, departement=None))
    if a.departement:
        where, params = f"{where} AND c.departement_code = :dep", {**params, "dep": a.departement}
    rows = session.execute(
        text(
            "SELECT c.code, c.nom, count(*), count(*) OVER (), sum(count(*)) OVER () "
            "FROM service s JOIN geo_commune c ON c.code = s.code_insee "
            f"WHERE {where} GROUP BY c.code, c.nom ORDER BY c.nom, c.code LIMIT :size OFFSET :offset"
        ),
        {**params, "size": PAGE_SIZE, "offset": (a.page - 1) * PAGE_SIZE},
    ).all()
    if rows:
        n_communes, n_offres = rows[0][3], int(rows[0][4])
    else:
        n_communes, n_offres = session.execute(
            text("SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM service s "
                 "JOIN geo_commune c ON c.code = s.code_insee "
                 f"WHERE {where} GROUP BY c.code) g"),
            params,
        ).one()
    pages = max(1, math.ceil(n_communes / PAGE_SIZE))
    if a.page > pages:
        raise MapArgError(f"page : la page {a.page} n'existe pas (la liste a {pages} page(s)).")
    return {"communes": [{"code": r[0], "nom": r[1], "services": r[2]} for r in rows], "page": a.page,
            "pages": pages, "total_communes": n_communes, "total_offres": int(n_offres)}


def map_popup(session: Session, service_id: uuid.UUID) -> dict | None:
    """A published offer for the map's popup, with the other published offers at the
    very same place (at most SAME_PLACE): {"id", "nom", "commune", "thematiques",
    "structure", "meme_lieu": [{"id", "nom"}]}."""
    row = session.execute(
        select(Service.id, Service.nom, Service.commune, Service.thematiques, Structure.nom)
        .join(Structure, Structure.id == Service.structure_id)
        .where(Service.id == service_id, permissions.public_service())
    ).first()
    if row is None:
        return None
    labels = vocabulary.thematiques()
    others = session.execute(
        text(
            "SELECT s.id, s.nom FROM service s JOIN structure st ON st.id = s.structure_id "
            f"WHERE {permissions.PUBLIC_SERVICE_SQL} AND NOT s.duplicate_hidden AND s.id <> :id "
            "AND ST_DWithin(s.location, (SELECT location FROM service WHERE id = :id), 1) "
            "ORDER BY s.nom LIMIT :limit"
        ),
        {"id": service_id, "limit": SAME_PLACE},
    ).all()
    return {
        "id": str(row[0]),
        "nom": row[1],
        "commune": row[2],
        "thematiques": [labels.get(t, t) for t in row[3]],
        "structure": row[4],
        "meme_lieu": [{"id": str(i), "nom": nom} for i, nom in others],
    }
