"""Taking over an imported offer: when a structure edits an offer that an import
brought, each field it changed is recorded (TakenOverField) and the importers no
longer overwrite it (importers.load). See docs/permissions.md."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from catalogue.accounts import TakenOverField
from catalogue.models import Service
from catalogue.tokens import API_SOURCE_PREFIX

LOCAL_SOURCE = "local"
# Fields a structure can take over; the place fields carry the point with them.
TAKEABLE = {
    "nom", "description", "lien_source", "type", "thematiques", "frais", "frais_precisions",
    "publics", "publics_precisions", "conditions_acces", "modes_accueil", "zone_eligibilite",
    "contact_nom_prenom", "lien_mobilisation", "modes_mobilisation", "mobilisable_par",
    "mobilisation_precisions", "volume_horaire_hebdomadaire", "nombre_semaines", "commune",
    "code_postal", "code_insee", "adresse", "complement_adresse", "telephone", "courriel",
    "horaires_accueil", "location",
}


def is_imported(service: Service) -> bool:
    """Brought by an import (not written here, nor through the partners' API)."""
    return service.source != LOCAL_SOURCE and not service.source.startswith(API_SOURCE_PREFIX)


def _jsonable(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return json.loads(json.dumps(value, default=str))


def record(session: Session, service: Service, changed: dict) -> list[str]:
    """Mark the fields of `changed` (name -> new value) as taken over, for an
    imported service; returns the fields recorded."""
    if not is_imported(service):
        return []
    names = sorted(f for f in changed if f in TAKEABLE)
    for name in names:
        value = {"v": _jsonable(changed[name])}
        session.execute(
            insert(TakenOverField)
            .values(service_id=service.id, field=name, value=value)
            .on_conflict_do_update(index_elements=["service_id", "field"], set_={"value": value, "at": datetime.now().astimezone()})
        )
    session.flush()
    return names


def taken_over(session: Session, service_id: uuid.UUID) -> set[str]:
    return set(session.scalars(select(TakenOverField.field).where(TakenOverField.service_id == service_id)))
