"""The moderation queue: new offers, public error reports and the importers'
duplicate suggestions; moderators publish, hide, link or unlink duplicates, or
dismiss, and every decision is logged (ModerationDecision).

Two modes (setting `moderation_before_publish`): by default an offer is published
at once and reviewed afterwards; with the setting, an offer published by its
structure stays a draft until a moderator publishes it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from catalogue import freshness
from catalogue.accounts import ModerationDecision, ModerationItem, ModeratorScope, User
from catalogue.errors import ValidationError
from catalogue.models import ErrorReport, Service, Status, Structure

NOUVELLE_OFFRE = "nouvelle_offre"
SIGNALEMENT = "signalement"
DOUBLON = "doublon"
KIND_LABELS = {
    NOUVELLE_OFFRE: "Nouvelle offre",
    SIGNALEMENT: "Signalement d'une erreur",
    DOUBLON: "Doublon probable",
}
A_TRAITER = "a_traiter"
TRAITE = "traite"

PUBLIER = "publier"
MASQUER = "masquer"
LIER = "lier"
DELIER = "delier"
CLASSER = "classer"
DECISION_LABELS = {
    PUBLIER: "Publier",
    MASQUER: "Masquer (renvoyer en brouillon)",
    LIER: "Lier comme doublon de l'offre indiquée",
    DELIER: "Délier : ce n'est pas un doublon",
    CLASSER: "Classer sans suite",
}


# ----------------------------------------------------------------- scope

def scope_communes(session: Session, user: User) -> list[str] | None:
    """The INSEE codes of the communes a moderator covers; None for an
    administrator (everything)."""
    if user.is_admin:
        return None
    scopes = session.scalars(select(ModeratorScope).where(ModeratorScope.user_id == user.id)).all()
    deps = [s.departement_code for s in scopes if s.departement_code]
    slugs = [s.territory_slug for s in scopes if s.territory_slug]
    return list(
        session.scalars(
            text(
                "SELECT code FROM geo_commune WHERE departement_code = ANY(:deps) "
                "UNION SELECT unnest(communes) FROM geo_territory WHERE slug = ANY(:slugs) "
                # Paris, Lyon, Marseille: their arrondissements too (catalogue.places).
                "UNION SELECT a.code FROM geo_commune a JOIN geo_territory t ON a.parent_code = ANY(t.communes) "
                "WHERE t.slug = ANY(:slugs) AND a.type = 'ARM'"
            ),
            {"deps": deps, "slugs": slugs},
        )
    )


def in_scope(communes: list[str] | None):
    """Condition on Service (joined with its Structure): placed in the scope."""
    if communes is None:
        return text("true")
    return or_(Service.code_insee.in_(communes), Structure.code_insee.in_(communes))


# ----------------------------------------------------------------- feeding

def enqueue(session: Session, kind: str, *, service: Service | None = None,
            structure_id: uuid.UUID | None = None, error_report_id: int | None = None) -> ModerationItem:
    item = ModerationItem(
        kind=kind,
        service_id=service.id if service is not None else None,
        structure_id=structure_id or (service.structure_id if service is not None else None),
        error_report_id=error_report_id,
    )
    session.add(item)
    session.flush()
    return item


def enqueue_report(session: Session, report: ErrorReport, service: Service) -> ModerationItem:
    """A public error report: into the queue of the moderators of the service."""
    session.flush()
    return enqueue(session, SIGNALEMENT, service=service, error_report_id=report.id)


def pending_publication(session: Session, service: Service) -> bool:
    """Whether the offer waits for a moderator before being published."""
    return session.scalar(
        select(ModerationItem.id).where(
            ModerationItem.service_id == service.id,
            ModerationItem.kind == NOUVELLE_OFFRE,
            ModerationItem.status == A_TRAITER,
        ).limit(1)
    ) is not None and service.status == Status.BROUILLON


def publication_status(*, before_publish: bool, reviewer: bool) -> Status:
    """The status an offer takes when its structure publishes it: a draft waiting
    for a moderator when the setting `moderation_before_publish` is on (unless
    a moderator of its scope or an administrator publishes it), else published."""
    return Status.BROUILLON if before_publish and not reviewer else Status.PUBLIE


def publish(session: Session, service: Service, *, before_publish: bool, reviewer: bool) -> bool:
    """Publish an offer, by whatever path (the back-office form, the partners'
    API): the one rule. With `before_publish` (and not a reviewer), the offer stays
    a draft and enters the queue once; otherwise it is published at once and, the
    first time, enters the queue to be reviewed afterwards. A reviewer (moderator
    of the scope, administrator) publishes without a queue item. Returns whether
    the offer is published now."""
    already = session.scalar(
        select(ModerationItem.id).where(ModerationItem.service_id == service.id,
                                        ModerationItem.kind == NOUVELLE_OFFRE).limit(1)
    )
    status = publication_status(before_publish=before_publish, reviewer=reviewer)
    if status == Status.BROUILLON:
        if not pending_publication(session, service):
            enqueue(session, NOUVELLE_OFFRE, service=service)
        service.status = Status.BROUILLON
        return False
    service.status = Status.PUBLIE
    if not reviewer and already is None:
        enqueue(session, NOUVELLE_OFFRE, service=service)
    return True


def sync_duplicates(session: Session) -> int:
    """Queue every duplicate suggestion of the importers (duplicate_of_id set) that
    has never been queued; a suggestion is queued once, whatever its outcome."""
    result = session.execute(
        text(
            "INSERT INTO moderation_item (kind, service_id, structure_id) "
            "SELECT 'doublon', s.id, s.structure_id FROM service s "
            "WHERE s.duplicate_of_id IS NOT NULL AND s.status <> 'archive' AND NOT EXISTS ("
            "  SELECT 1 FROM moderation_item m WHERE m.kind = 'doublon' AND m.service_id = s.id) "
            "UNION ALL "
            "SELECT 'doublon', NULL, t.id FROM structure t "
            "WHERE t.duplicate_of_id IS NOT NULL AND t.status <> 'archive' AND NOT EXISTS ("
            "  SELECT 1 FROM moderation_item m WHERE m.kind = 'doublon' AND m.structure_id = t.id "
            "  AND m.service_id IS NULL)"
        )
    )
    return result.rowcount or 0


# ----------------------------------------------------------------- queue

@dataclass
class QueueEntry:
    item: ModerationItem
    service: Service | None
    structure: Structure | None
    report: ErrorReport | None
    duplicate_of: Service | Structure | None


def queue(session: Session, user: User, status: str = A_TRAITER, limit: int = 200) -> list[QueueEntry]:
    """The items of the moderator's scope, oldest first."""
    communes = scope_communes(session, user)
    stmt = (
        select(ModerationItem, Service, Structure)
        .outerjoin(Service, Service.id == ModerationItem.service_id)
        .outerjoin(Structure, Structure.id == ModerationItem.structure_id)
        .where(ModerationItem.status == status)
        .order_by(ModerationItem.created_at, ModerationItem.id)
        .limit(limit)
    )
    if communes is not None:
        stmt = stmt.where(or_(Service.code_insee.in_(communes), Structure.code_insee.in_(communes)))
    entries = []
    for item, service, structure in session.execute(stmt).all():
        report = session.get(ErrorReport, item.error_report_id) if item.error_report_id else None
        dup = None
        if service is not None and service.duplicate_of_id:
            dup = session.get(Service, service.duplicate_of_id)
        elif service is None and structure is not None and structure.duplicate_of_id:
            dup = session.get(Structure, structure.duplicate_of_id)
        entries.append(QueueEntry(item, service, structure, report, dup))
    return entries


def item_in_scope(session: Session, user: User, item: ModerationItem) -> bool:
    communes = scope_communes(session, user)
    if communes is None:
        return True
    stmt = (
        select(ModerationItem.id)
        .outerjoin(Service, Service.id == ModerationItem.service_id)
        .outerjoin(Structure, Structure.id == ModerationItem.structure_id)
        .where(ModerationItem.id == item.id, in_scope(communes))
    )
    return session.scalar(stmt) is not None


def decisions_of(session: Session, item: ModerationItem) -> list[tuple[ModerationDecision, User]]:
    return list(
        session.execute(
            select(ModerationDecision, User)
            .join(User, User.id == ModerationDecision.user_id)
            .where(ModerationDecision.item_id == item.id)
            .order_by(ModerationDecision.at, ModerationDecision.id)
        ).all()
    )


def allowed_decisions(item: ModerationItem) -> list[str]:
    if item.kind == DOUBLON:
        return [LIER, DELIER, MASQUER, CLASSER] if item.service_id else [DELIER, CLASSER]
    return [PUBLIER, MASQUER, LIER, CLASSER]


def decide(session: Session, user: User, item: ModerationItem, decision: str,
           comment: str | None = None, target_id: str | None = None) -> ModerationDecision:
    """Apply a decision to an item and log it. The caller names the actor
    (catalogue.db.set_actor) so that the audit log records who changed the offer."""
    if decision not in allowed_decisions(item):
        raise ValidationError({"decision": [f"décision impossible pour cet élément : {decision}"]})
    if item.status != A_TRAITER:
        raise ValidationError({"decision": ["cet élément a déjà été traité"]})
    comment = (comment or "").strip() or None
    if comment and len(comment) > 2000:
        raise ValidationError({"comment": ["2 000 caractères au plus"]})
    service = session.get(Service, item.service_id) if item.service_id else None
    structure = session.get(Structure, item.structure_id) if item.structure_id and service is None else None
    if decision == PUBLIER and service is not None:
        service.status = Status.PUBLIE
    elif decision == MASQUER and service is not None:
        service.status = Status.BROUILLON
    elif decision == LIER:
        if service is None:
            raise ValidationError({"target": ["seule une offre peut être liée à une autre"]})
        target = _target_service(session, target_id, service)
        service.duplicate_of_id = target.id
        service.duplicate_score = 1.0
        service.duplicate_hidden = True  # a moderator's link is sure
    elif decision == DELIER:
        record = service if service is not None else structure
        if record is not None:
            record.duplicate_of_id = None
            record.duplicate_score = None
            record.duplicate_hidden = False
    if item.error_report_id:
        report = session.get(ErrorReport, item.error_report_id)
        report.status = "traite"
        report.handled_at = datetime.now(UTC)
        report.handled_by = f"user:{user.id}"
    item.status = TRAITE
    logged = ModerationDecision(item_id=item.id, user_id=user.id, decision=decision, comment=comment)
    session.add(logged)
    session.flush()
    return logged


def _target_service(session: Session, target_id: str | None, service: Service) -> Service:
    raw = (target_id or "").strip()
    if not raw and service.duplicate_of_id:
        return session.get(Service, service.duplicate_of_id)
    raw = raw.rstrip("/").rsplit("/", 1)[-1]  # a pasted address of the offer works too
    try:
        wanted = uuid.UUID(raw)
    except ValueError:
        raise ValidationError({"target": ["identifiant de l'offre d'origine invalide (collez l'adresse de sa fiche)"]}) from None
    if wanted == service.id:
        raise ValidationError({"target": ["une offre ne peut pas être le doublon d'elle-même"]})
    target = session.get(Service, wanted)
    if target is None:
        raise ValidationError({"target": ["offre d'origine introuvable"]})
    return target


def open_reports_of(session: Session, service_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Untreated error reports per service."""
    if not service_ids:
        return {}
    rows = session.execute(
        select(ErrorReport.service_id, ErrorReport.id)
        .where(ErrorReport.service_id.in_(service_ids), ErrorReport.status == "nouveau")
    ).all()
    counts: dict[uuid.UUID, int] = {}
    for sid, _ in rows:
        counts[sid] = counts.get(sid, 0) + 1
    return counts



def open_reports(session: Session, service_id: uuid.UUID, limit: int = 20) -> list[ErrorReport]:
    """The service's untreated error reports, newest first."""
    return list(session.scalars(
        select(ErrorReport).where(ErrorReport.service_id == service_id, ErrorReport.status == "nouveau")
        .order_by(ErrorReport.created_at.desc()).limit(limit)
    ))


def stale_in_scope(session: Session, communes, limit: int = 500) -> tuple[list[Service], int]:
    """The offers to check again in a moderator's scope (`scope_communes`): the
    first `limit` and how many in all."""
    scoped = freshness.stale_services_query().join(Structure, Structure.id == Service.structure_id).where(
        in_scope(communes))
    services = list(session.scalars(scoped.limit(limit)))
    total = session.scalar(select(func.count()).select_from(scoped.subquery()))
    return services, total
