"""/api/v1: service and structure details, thematiques (with the SPIE groups), sources."""

from __future__ import annotations

import uuid

from flask import url_for
from flask_smorest import Blueprint
from sqlalchemy import func, select

from catalogue import permissions, queries, vocabulary
from catalogue.models import Service, Status, Structure
from web.api import problem
from web.api.http import conditional
from web.api.schemas import ServiceSchema, SourceListSchema, StructureSchema, ThematiquesSchema
from web.db import get_session

blp = Blueprint("api_catalogue", __name__, url_prefix="/api/v1", description="Catalogue : services, structures, thématiques, sources.")

# Drafts are not public; archived records stay reachable (with their status) so that
# links and partners' copies do not break.
VISIBLE = (Status.PUBLIE, Status.ARCHIVE)

_SHARED = (
    "source", "source_id", "nom", "description", "lien_source", "date_maj", "commune",
    "code_postal", "code_insee", "adresse", "complement_adresse", "telephone",
    "courriel", "horaires_accueil", "created_at", "updated_at",
)
_SERVICE = (
    "type", "thematiques", "frais", "frais_precisions", "publics", "publics_precisions",
    "conditions_acces", "modes_accueil", "zone_eligibilite", "contact_nom_prenom",
    "lien_mobilisation", "modes_mobilisation", "mobilisable_par", "mobilisation_precisions",
    "volume_horaire_hebdomadaire", "nombre_semaines", "frequence_maj_jours", "confirmed_at",
)
_STRUCTURE = ("siret", "site_web", "accessibilite_lieu", "reseaux_porteurs")


def _coords(model):
    return func.ST_X(func.geometry(model.location)), func.ST_Y(func.geometry(model.location))


def _base(record, lon, lat, names) -> dict:
    data = {"id": record.id, "status": str(record.status)}
    for name in names:
        value = getattr(record, name)
        data[name] = list(value or []) if isinstance(value, list) else value
    data["longitude"], data["latitude"] = lon, lat
    data["location_precision"] = str(record.location_precision) if record.location_precision else None
    return data


def service_view(session, service_id: uuid.UUID, statuses=VISIBLE) -> tuple[dict, object] | None:
    """A service (of one of `statuses`) as a plain dict and its last change, or None."""
    row = session.execute(
        select(Service, Structure.nom, Structure.status, *_coords(Service))
        .join(Structure, Service.structure_id == Structure.id)
        .where(Service.id == service_id, Service.status.in_(statuses), Structure.status.in_(statuses))
    ).first()
    if row is None:
        return None
    service, structure_nom, structure_status, lon, lat = row
    data = _base(service, lon, lat, _SHARED + _SERVICE)
    if statuses == VISIBLE:
        # The public sees the offer of an archived structure as withdrawn.
        data["status"] = str(permissions.public_status(service.status, structure_status))
    data["structure"] = {"id": service.structure_id, "nom": structure_nom}
    groups = {vocabulary.spie_group_of(t) for t in service.thematiques or []} - {None}
    data["thematiques_spie"] = [g.code for g in sorted(groups, key=lambda g: g.rank)]
    data["links"] = {"self": url_for("api_catalogue.service_detail", service_id=service.id, _external=True)}
    return data, service.updated_at


def structure_view(session, structure_id: uuid.UUID) -> tuple[dict, object] | None:
    row = session.execute(
        select(Structure, *_coords(Structure)).where(
            Structure.id == structure_id, Structure.status.in_(VISIBLE)
        )
    ).first()
    if row is None:
        return None
    structure, lon, lat = row
    data = _base(structure, lon, lat, _SHARED + _STRUCTURE)
    services = session.execute(
        select(Service.id, Service.nom, Service.status, Service.updated_at)
        .where(Service.structure_id == structure.id, Service.status.in_(VISIBLE))
        .order_by(Service.nom, Service.id)
    ).all()
    data["services"] = [{"id": s.id, "nom": s.nom, "status": str(permissions.public_status(s.status, structure.status))}
                        for s in services]
    data["links"] = {"self": url_for("api_catalogue.structure_detail", structure_id=structure.id, _external=True)}
    # A change of one of its services changes the structure's representation too.
    last = max([structure.updated_at, *(s.updated_at for s in services)])
    return data, last


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
    structures = dict(
        session.execute(
            select(Structure.source, func.count()).where(Structure.status == Status.PUBLIE).group_by(Structure.source)
        ).all()
    )
    services = dict(
        session.execute(
            select(Service.source, func.count()).where(Service.status == Status.PUBLIE).group_by(Service.source)
        ).all()
    )
    names = sorted(set(structures) | set(services))
    return {
        "items": [
            {"source": n, "structures": structures.get(n, 0), "services": services.get(n, 0)} for n in names
        ]
    }


@blp.get("/sources")
@blp.response(200, SourceListSchema)
@blp.doc(summary="Sources", description="Les producteurs des données du catalogue et leurs nombres de structures et de services publiés.")
def sources():
    return sources_view(get_session())
