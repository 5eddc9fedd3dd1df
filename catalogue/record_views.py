"""Services and structures as the API gives them (plain dicts, coordinates apart),
with their last change, and the published counts per source. web/api adds the
links and the HTTP."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogue import permissions, vocabulary
from catalogue.models import Service, Status, Structure

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


def service_record(session: Session, service_id: uuid.UUID, statuses=VISIBLE) -> tuple[dict, object] | None:
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
    return data, service.updated_at


def structure_record(session: Session, structure_id: uuid.UUID) -> tuple[dict, object] | None:
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
    # A change of one of its services changes the structure's representation too.
    last = max([structure.updated_at, *(s.updated_at for s in services)])
    return data, last


def counts_by_source(session: Session) -> dict:
    """Published structures and services per source, as GET /api/v1/sources gives them."""
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
