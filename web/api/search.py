"""GET /api/v1/services/search: one page of the search, as JSON.

Parameters are named as in the data·inclusion API where it has one; the page
holds each service with its catalogue id and provenance, and its distance.
"""

from __future__ import annotations

from data_inclusion.schema import v1
from flask import current_app, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from search.contract import SearchQuery
from search.errors import InvalidQuery
from search.rows import api_services
from web.api import problem
from web.db import get_session
from web.search_ import SEARCH_ARGS, service

blp = Blueprint(
    "search_api", __name__, url_prefix="/api/v1", description="Recherche de services (offre d'insertion)."
)

class SearchStructureRef(Schema):
    id = fields.UUID()
    nom = fields.String()


class SearchService(Schema):
    id = fields.UUID(metadata={"description": "Identifiant du service dans le catalogue."})
    source = fields.String()
    source_id = fields.String()
    structure_id = fields.UUID()
    structure = fields.Nested(SearchStructureRef)
    for _name in v1.Service.model_fields:
        if _name not in ("id", "source", "structure_id"):
            locals()[_name] = fields.Raw(allow_none=True)
    del _name
    statut = fields.String()
    confirmed_at = fields.String(allow_none=True, metadata={"description": "Dernière confirmation (ISO 8601)."})
    updated_at = fields.String(metadata={"description": "Dernière modification (ISO 8601)."})


class SearchItem(Schema):
    service = fields.Nested(SearchService)
    distance = fields.Float(allow_none=True, metadata={"description": "Distance en mètres (services en présentiel) ; null à distance."})


class SearchResult(Schema):
    items = fields.List(fields.Nested(SearchItem))
    facets = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        metadata={"description": "Comptes par thematiques_spie, categories, thematiques, publics, frais, types, modes_accueil, sources."},
    )
    total = fields.Integer()
    page = fields.Integer()
    size = fields.Integer()
    next_cursor = fields.String(allow_none=True)
    thematiques_reconnues = fields.List(fields.String(), metadata={"description": "Thématiques reconnues dans le texte libre."})


def search_page_dict(page, items: list[dict]) -> dict:
    """The SearchResult of a page whose hits are `items` (search.rows.api_services)."""
    return {
        "items": items,
        "facets": page.facets,
        "total": page.total,
        "page": page.page,
        "size": page.size,
        "next_cursor": page.next_cursor,
        "thematiques_reconnues": list(page.matched_thematiques),
    }


@blp.route("/services/search")
class ServiceSearch(MethodView):
    # The one schema of a search (search.params): it validates, documents and
    # builds the SearchQuery; what only the catalogue knows is refused by the engine.
    @blp.arguments(SEARCH_ARGS, location="query")
    @blp.response(200, SearchResult)
    @blp.alt_response(400, description="Paramètre invalide (application/problem+json, nomme le paramètre).")
    def get(self, query: SearchQuery):
        """Rechercher des services

        Éligibilité et portée selon la sémantique nationale data·inclusion : zone
        d'éligibilité vide ou couvrant la commune (commune, EPCI, département,
        france) ; service à distance, ou en présentiel dans le rayon.
        """
        # The dict is already the documented SearchResult (tests/search/test_api.py
        # checks that dumping it through the schema changes nothing): sent as it is,
        # without the schema's dump (a sixth of a search request's time). The same for
        # whoever asks: kept, encoded, with its page in the search cache (search.cache)
        # until the catalogue changes.
        try:
            body = service().rendered(get_session(), query, "api", lambda page: jsonify(
                search_page_dict(page, api_services(get_session(), page.hits))).get_data())
        except InvalidQuery as exc:
            return problem(400, f"{exc.field} : {exc.message}", {exc.field: [exc.message]})
        return current_app.response_class(body, mimetype="application/json")
