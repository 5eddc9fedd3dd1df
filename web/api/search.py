"""GET /api/v1/services/search: one page of the search, as JSON.

Parameters are named as in the data·inclusion API where it has one; the page
holds each service with its catalogue id and provenance, and its distance.
"""

from __future__ import annotations

from data_inclusion.schema import v1
from flask import current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from geoalchemy2.shape import to_shape
from marshmallow import Schema, fields, validate

from catalogue.models import Service
from search.contract import MAX_PAGE_SIZE
from search.errors import InvalidQuery
from web.api import problem
from web.db import get_session
from web.search_ import load_services, query_from_args, run_search

blp = Blueprint(
    "search_api", __name__, url_prefix="/api/v1", description="Recherche de services (offre d'insertion)."
)

_NUM = {"invalid": "nombre attendu"}
_INT = {"invalid": "nombre entier attendu"}
_LIST = "liste : paramètre répété ou valeurs séparées par des virgules"


def _codes(doc: str):
    return fields.List(fields.String(), metadata={"description": f"{doc} ({_LIST})."})


class SearchArgs(Schema):
    q = fields.String(metadata={"description": "Texte libre (accents, fautes de frappe et synonymes tolérés)."})
    code_commune = fields.String(metadata={"description": "Code INSEE de la commune de la personne (éligibilité, distance)."})
    lat = fields.Float(error_messages=_NUM, validate=validate.Range(min=-90, max=90, error="entre -90 et 90"),
                       metadata={"description": "Latitude du point de recherche (WGS84), avec lon ; un point hors de France (métropole, Corse, outre-mer) est refusé (400)."})
    lon = fields.Float(error_messages=_NUM, validate=validate.Range(min=-180, max=180, error="entre -180 et 180"),
                       metadata={"description": "Longitude du point de recherche (WGS84), avec lat."})
    rayon_km = fields.Float(error_messages=_NUM, metadata={"description": "Rayon en km pour les services en présentiel (1 à 200, 50 par défaut)."})
    thematiques = _codes("Thématiques, catégories data·inclusion ou thématiques SPIE")
    publics = _codes("Publics (tous-publics inclus d'office)")
    frais = _codes("Frais (gratuit, payant)")
    types = _codes("Types de service")
    modes_accueil = _codes("Modes d'accueil (en-presentiel, a-distance)")
    mobilisable_par = _codes("Qui peut mobiliser le service (professionnels, usagers)")
    sources = _codes("Sources des données")
    structure = fields.UUID(error_messages={"invalid_uuid": "identifiant de structure invalide", "invalid": "identifiant de structure invalide"}, metadata={"description": "Identifiant (catalogue) d'une structure."})
    territoire = fields.String(metadata={"description": "Identifiant d'un territoire (ses communes)."})
    ouvert_le = fields.String(metadata={"description": "Ouvert à cette date et heure (ISO 8601, heure de Paris si sans fuseau)."})
    tri = fields.String(metadata={"description": "pertinence (défaut), distance ou fraicheur."})
    exclure_doublons = fields.Boolean(error_messages={"invalid": "true ou false attendu"}, metadata={"description": "Masquer les doublons sûrs (true par défaut) ; un doublon seulement proposé aux modérateurs reste visible."})
    page = fields.Integer(error_messages=_INT, metadata={"description": "Numéro de page (1 par défaut)."})
    size = fields.Integer(error_messages=_INT, metadata={"description": f"Taille de page (20 par défaut, {MAX_PAGE_SIZE} au plus)."})
    cursor = fields.String(metadata={"description": "Curseur de la page suivante (next_cursor), stable pour les parcours complets."})


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


def service_dict(service: Service) -> dict:
    """A service as JSON: catalogue id, provenance, and every data·inclusion v1 field."""
    out: dict = {}
    for name in v1.Service.model_fields:
        if name in ("id", "source", "structure_id", "longitude", "latitude"):
            continue
        value = getattr(service, name, None)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    lon = lat = None
    if service.location is not None:
        point = to_shape(service.location)
        lon, lat = point.x, point.y
    out.update(
        id=str(service.id),
        source=service.source,
        source_id=service.source_id,
        structure_id=str(service.structure_id),
        structure={"id": str(service.structure.id), "nom": service.structure.nom},
        longitude=lon,
        latitude=lat,
        statut=service.status.value,
        confirmed_at=service.confirmed_at.isoformat() if service.confirmed_at else None,
        updated_at=service.updated_at.isoformat() if service.updated_at else None,
    )
    return out


def search_page_dict(page, services: list[Service]) -> dict:
    distances = {h.id: h.distance_m for h in page.hits}
    return {
        "items": [{"service": service_dict(s), "distance": distances.get(s.id)} for s in services],
        "facets": page.facets,
        "total": page.total,
        "page": page.page,
        "size": page.size,
        "next_cursor": page.next_cursor,
        "thematiques_reconnues": list(page.matched_thematiques),
    }


@blp.route("/services/search")
class ServiceSearch(MethodView):
    @blp.arguments(SearchArgs, location="query", as_kwargs=True)
    @blp.response(200, SearchResult)
    @blp.alt_response(400, description="Paramètre invalide (application/problem+json, nomme le paramètre).")
    def get(self, **_parsed):
        """Rechercher des services

        Éligibilité et portée selon la sémantique nationale data·inclusion : zone
        d'éligibilité vide ou couvrant la commune (commune, EPCI, département,
        france) ; service à distance, ou en présentiel dans le rayon.
        """
        settings = current_app.extensions["offre"]["settings"]
        try:
            query = query_from_args(request.args, default_radius_km=settings.default_radius_km)
            page = run_search(query)
        except InvalidQuery as exc:
            return problem(400, f"{exc.field} : {exc.message}", {exc.field: [exc.message]})
        # The dict is already the documented SearchResult (tests/api/test_search_response.py
        # checks that dumping it through the schema changes nothing): sent as it is,
        # without the schema's dump (a sixth of a search request's time).
        return jsonify(search_page_dict(page, load_services(get_session(), page.hits)))
