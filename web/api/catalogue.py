"""/api/v1: service and structure details, thematiques (with the SPIE groups), sources."""

from __future__ import annotations

import uuid

from flask import url_for
from flask_smorest import Blueprint

from catalogue import queries, record_views, vocabulary
from catalogue.api_schemas import (
    ServiceSchema,
    SourceListSchema,
    StructureSchema,
    ThematiquesSchema,
)
from web.api import problem
from web.api.http import conditional
from web.db import get_session

blp = Blueprint("api_catalogue", __name__, url_prefix="/api/v1", description="Catalogue : services, structures, thématiques, sources.")

def service_view(session, service_id: uuid.UUID, statuses=record_views.VISIBLE) -> tuple[dict, object] | None:
    """A service (of one of `statuses`) as a plain dict with its link, and its last
    change, or None."""
    found = record_views.service_record(session, service_id, statuses)
    if found is not None:
        found[0]["links"] = {"self": url_for("api_catalogue.service_detail", service_id=service_id, _external=True)}
    return found


def structure_view(session, structure_id: uuid.UUID) -> tuple[dict, object] | None:
    found = record_views.structure_record(session, structure_id)
    if found is not None:
        found[0]["links"] = {"self": url_for("api_catalogue.structure_detail", structure_id=structure_id,
                                             _external=True)}
    return found


@blp.get("/services/<uuid:service_id>")
@blp.response(200, ServiceSchema)
@blp.doc(summary="Un service", description="Un service publié ou archivé, par son identifiant dans le catalogue. ETag et Last-Modified : renvoyez If-None-Match pour un 304.")
def service_detail(service_id):
    found = service_view(get_session(), service_id)
    if found is None:
        return problem(404, f"Aucun service public n'a l'identifiant {service_id}.")
    data, last = found
    return conditional(ServiceSchema().dump(data), last)


@blp.get("/structures/<uuid:structure_id>")
@blp.response(200, StructureSchema)
@blp.doc(summary="Une structure", description="Une structure publiée ou archivée et la liste de ses services. ETag et Last-Modified.")
def structure_detail(structure_id):
    found = structure_view(get_session(), structure_id)
    if found is None:
        return problem(404, f"Aucune structure publique n'a l'identifiant {structure_id}.")
    data, last = found
    return conditional(StructureSchema().dump(data), last)


def thematiques_view(session) -> dict:
    counts = {g.code: n for g, n in queries.counts_by_spie_group(session)}
    labels = vocabulary.thematiques()
    cats = vocabulary.categories()
    return {
        "groupes": [
            {
                "code": g.code,
                "label": g.label,
                "rang": g.rank,
                "services": counts.get(g.code, 0),
                "categories": [
                    {
                        "code": c,
                        "label": cats.get(c, c),
                        "thematiques": [
                            {"code": t, "label": labels[t]}
                            for t in labels
                            if vocabulary.categorie_of(t) == c
                        ],
                    }
                    for c in g.categories
                ],
            }
            for g in vocabulary.spie_groups()
        ]
    }


@blp.get("/thematiques")
@blp.response(200, ThematiquesSchema)
@blp.doc(summary="Thématiques", description="Les dix thématiques du SPIE, leurs catégories et thématiques data·inclusion v1, et le nombre de services publiés.")
def thematiques():
    return thematiques_view(get_session())


def sources_view(session) -> dict:
    return record_views.counts_by_source(session)


@blp.get("/sources")
@blp.response(200, SourceListSchema)
@blp.doc(summary="Sources", description="Les producteurs des données du catalogue et leurs nombres de structures et de services publiés.")
def sources():
    return sources_view(get_session())
