"""/api/v1: commune lookup and territories."""

from __future__ import annotations

import json
import re

from flask import url_for
from flask_smorest import Blueprint
from sqlalchemy import text

from geo.names import normalise_name
from web.api import problem
from web.api.http import conditional
from web.api.schemas import (
    CommuneListSchema,
    CommuneQuerySchema,
    TerritoryListSchema,
    TerritorySchema,
)
from web.db import get_session

blp = Blueprint("api_geo", __name__, url_prefix="/api/v1", description="Référentiel géographique : communes, territoires.")

_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$", re.IGNORECASE)
_POSTAL_PREFIX = re.compile(r"^\d{2,4}$")
# Degrees; about 100 m in France: enough for a map outline, small to send.
SIMPLIFY_TOLERANCE = 0.001

_COMMUNE_COLUMNS = """
    c.code, c.nom, c.codes_postaux, c.population,
    c.epci_code, e.nom AS epci_nom, c.departement_code, d.nom AS departement_nom,
    c.region_code, r.nom AS region_nom,
    ST_X(c.centre::geometry) AS lon, ST_Y(c.centre::geometry) AS lat
    FROM geo_commune c
    LEFT JOIN geo_epci e ON e.code = c.epci_code
    LEFT JOIN geo_departement d ON d.code = c.departement_code
    LEFT JOIN geo_region r ON r.code = c.region_code
"""


def search_communes(session, q: str, limit: int = 10) -> list[dict]:
    """Communes matching a name (its beginning, accents and « saint » ignored), a
    postal code (or its beginning) or an INSEE code; the most populated first."""
    q = q.strip()
    params = {"limit": limit}
    if _CODE.match(q):
        where = "c.code = :code OR :code = ANY(c.codes_postaux)"
        params["code"] = q.upper()
    elif _POSTAL_PREFIX.match(q):
        where = "EXISTS (SELECT 1 FROM unnest(c.codes_postaux) p WHERE p LIKE :prefix)"
        params["prefix"] = q + "%"
    else:
        name = normalise_name(q)
        if not name:
            return []
        where = "c.nom_recherche LIKE :prefix"
        params["prefix"] = name.replace("%", "").replace("_", "") + "%"
        params["exact"] = name
    order = "(c.nom_recherche = :exact) DESC, " if "exact" in params else ""
    rows = session.execute(
        text(
            f"SELECT {_COMMUNE_COLUMNS} WHERE {where} "
            f"ORDER BY {order}c.population DESC NULLS LAST, c.code LIMIT :limit"
        ),
        params,
    ).all()
    return [_commune(r) for r in rows]


def _ref(code, nom):
    return {"code": code, "nom": nom or code} if code else None


def _commune(r) -> dict:
    return {
        "code": r.code,
        "nom": r.nom,
        "codes_postaux": list(r.codes_postaux or []),
        "epci": _ref(r.epci_code, r.epci_nom),
        "departement": _ref(r.departement_code, r.departement_nom),
        "region": _ref(r.region_code, r.region_nom),
        "centre": {"longitude": r.lon, "latitude": r.lat} if r.lon is not None else None,
        "population": r.population,
    }


@blp.get("/communes")
@blp.arguments(CommuneQuerySchema, location="query")
@blp.response(200, CommuneListSchema)
@blp.doc(summary="Chercher une commune", description="Par le début de son nom, un code postal (ou son début) ou un code INSEE.")
def communes(args):
    return {"items": search_communes(get_session(), args["q"], args["limit"])}


@blp.get("/territoires")
@blp.response(200, TerritoryListSchema)
@blp.doc(summary="Territoires", description="Les territoires nommés (cohortes SPIE, bassins…), chacun un ensemble de communes.")
def territories():
    rows = get_session().execute(
        text("SELECT slug, nom, coalesce(cardinality(communes), 0) AS n FROM geo_territory ORDER BY nom, slug")
    ).all()
    return {
        "items": [
            {
                "slug": r.slug,
                "nom": r.nom,
                "nombre_communes": r.n,
                "links": {"self": url_for("api_geo.territory_detail", slug=r.slug, _external=True)},
            }
            for r in rows
        ]
    }


@blp.get("/territoires/<slug>")
@blp.response(200, TerritorySchema)
@blp.doc(summary="Un territoire", description="Ses communes et son contour simplifié (GeoJSON).")
def territory_detail(slug):
    session = get_session()
    row = session.execute(
        text(
            """
            SELECT t.slug, t.nom, t.communes, t.created_at,
                   ST_AsGeoJSON(ST_SimplifyPreserveTopology(
                       coalesce(t.contour, (SELECT ST_Union(c.contour) FROM geo_commune c
                                            WHERE c.code = ANY(t.communes))), :tol), 5) AS contour
            FROM geo_territory t WHERE t.slug = :slug
            """
        ),
        {"slug": slug, "tol": SIMPLIFY_TOLERANCE},
    ).first()
    if row is None:
        return problem(404, f"Aucun territoire n'a l'identifiant « {slug} ».")
    names = dict(
        session.execute(
            text("SELECT code, nom FROM geo_commune WHERE code = ANY(:codes)"), {"codes": list(row.communes or [])}
        ).all()
    )
    data = {
        "slug": row.slug,
        "nom": row.nom,
        "communes": [{"code": c, "nom": names.get(c, c)} for c in row.communes or []],
        "contour": json.loads(row.contour) if row.contour else None,
        "links": {"self": url_for("api_geo.territory_detail", slug=row.slug, _external=True)},
    }
    return conditional(TerritorySchema().dump(data), row.created_at)
