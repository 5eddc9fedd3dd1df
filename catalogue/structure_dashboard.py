"""The back office's pages as plain data (web/backoffice shows them): the
structure's dashboard, field errors in words. Nothing here knows about HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogue import freshness, moderation, takeover
from catalogue.accounts import ModerationItem
from catalogue.freshness import FreshnessReminder
from catalogue.history import FIELD_LABELS
from catalogue.models import STATUS_LABELS, Service, Status, Structure

EXTRA_LABELS = {
    "zone_eligibilite": "Zone d'éligibilité",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "commune": "Commune",
    "horaires_accueil": "Horaires d'accueil",
    "target": "Offre d'origine",
    "comment": "Commentaire",
    "decision": "Décision",
}


def field_label(name: str) -> str:
    return EXTRA_LABELS.get(name) or FIELD_LABELS.get(name, name)


def error_lines(errors: dict[str, list[str]]) -> list[str]:
    """« Nom : entre 3 et 150 caractères » — the field named, then the reason."""
    return [f"{field_label(k)} : {m}" for k, msgs in errors.items() for m in msgs]


@dataclass
class Row:
    service: Service
    status_label: str
    stale: bool
    due_on: date
    pending: bool
    imported: bool
    reports: int
    reminded_at: object


def dashboard(session: Session, structure: Structure, today: date | None = None) -> dict:
    today = today or date.today()
    services = list(
        session.scalars(select(Service).where(Service.structure_id == structure.id).order_by(Service.status, Service.nom))
    )
    ids = [s.id for s in services]
    pending_ids = set(
        session.scalars(
            select(ModerationItem.service_id).where(
                ModerationItem.service_id.in_(ids), ModerationItem.kind == moderation.NOUVELLE_OFFRE,
                ModerationItem.status == moderation.A_TRAITER,
            )
        )
    ) if ids else set()
    reports = moderation.open_reports_of(session, ids)
    reminded: dict[uuid.UUID, object] = {}
    if ids:
        for sid, at in session.execute(
            select(FreshnessReminder.service_id, FreshnessReminder.sent_at)
            .where(FreshnessReminder.service_id.in_(ids)).order_by(FreshnessReminder.sent_at)
        ):
            reminded[sid] = at
    rows = [
        Row(
            service=s,
            status_label=STATUS_LABELS[s.status],
            stale=freshness.is_stale(s, today),
            due_on=freshness.due_on(s),
            pending=s.id in pending_ids and s.status == Status.BROUILLON,
            imported=takeover.is_imported(s),
            reports=reports.get(s.id, 0),
            reminded_at=reminded.get(s.id),
        )
        for s in services
    ]
    return {
        "structure": structure,
        "stale": [r for r in rows if r.stale],
        "drafts": [r for r in rows if r.service.status == Status.BROUILLON],
        "published": [r for r in rows if r.service.status == Status.PUBLIE],
        "archived": [r for r in rows if r.service.status == Status.ARCHIVE],
        "count": len(rows),
    }
