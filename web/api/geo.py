"""/api/v1: commune lookup and territories."""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint

from catalogue.api_schemas import (
    CommuneListSchema,
    CommuneQuerySchema,
    TerritoryListSchema,
    TerritorySchema,
)
from geo import lookup
from geo import territories as geo_territories
from web.api import problem
from web.api.http import conditional
from web.db import get_session

blp = Blueprint("api_geo", __name__, url_prefix="/api/v1", description="Référentiel géographique : communes, territoires.")

def search_communes(session, q: str, limit: int = 10) -> list[dict]:
    """Communes matching a name (its beginning, accents, « saint » and the article
    ignored), a postal code (or its beginning) or an INSEE code; the most populated
    first (geo.lookup, the one lookup of the service)."""
    return lookup.search_communes(session, q, limit)


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
    rows = geo_territories.territory_counts(get_session())
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
    row = geo_territories.get_territory(session, slug)
    if row is None:
        return problem(404, f"Aucun territoire n'a l'identifiant « {slug} ».")
    names = dict(geo_territories.territory_communes(session, slug))
    data = {
        "slug": row.slug,
        "nom": row.nom,
        "communes": [{"code": c, "nom": names.get(c, c)} for c in row.communes or []],
        # Simplified in Lambert-93 (100 m), 5 decimals: a whole département < 200 KB.
        "contour": geo_territories.territory_geojson(session, row.slug),
        "links": {"self": url_for("api_geo.territory_detail", slug=row.slug, _external=True)},
    }
    return conditional(TerritorySchema().dump(data), row.created_at)
