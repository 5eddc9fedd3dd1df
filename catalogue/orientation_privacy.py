"""The personal data of orientations, handled as the GDPR asks (issue 19, point 4;
the register is docs/rgpd.md):
- every read is logged (PersonalDataAccess: who, when, which orientation, what for);
- the data are anonymised `retention_months` after the orientation's closure (or
  after its last step when it never closed), by the scheduler;
- the SPIE team exports everything about a person (right of access) and erases it
  on request (right to erasure: the person's data are blanked, the counts stay).
Nothing here writes a personal datum anywhere else (logs, URLs, e-mails)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, object_session

from catalogue import orientation_attachment as attachments
from catalogue import permissions, vocabulary
from catalogue.accounts import User
from catalogue.orientation import (
    REFUSAL_REASONS,
    STATE_LABELS,
    Orientation,
    OrientationEvent,
    PersonalDataAccess,
    State,
    add_event,
)
from catalogue.spreadsheet import SafeCsvWriter

ACTIONS = ("detail", "liste", "export", "effacement", "recherche", "telechargement")


def log_access(session: Session, user: User | None, orientations, action: str) -> None:
    """One row per orientation read by `user` (its personal data shown or sent)."""
    assert action in ACTIONS
    for o in orientations:
        if o.anonymised_at is None:
            session.add(PersonalDataAccess(user_id=user.id if user else None, orientation_id=o.id,
                                           orientation_public_id=o.public_id, action=action))
    session.flush()


def accesses(session: Session, orientation: Orientation, limit: int = 200) -> list[PersonalDataAccess]:
    """The reads of an orientation, newest first; each with `.user` (None once the
    account is deleted)."""
    rows = session.execute(
        select(PersonalDataAccess, User).outerjoin(User, User.id == PersonalDataAccess.user_id)
        .where(PersonalDataAccess.orientation_id == orientation.id)
        .order_by(PersonalDataAccess.id.desc()).limit(limit)
    ).all()
    for access, user in rows:
        access.user = user
    return [access for access, _ in rows]


def anonymise(session: Session, orientation: Orientation, *, kind: str = "anonymisee", actor: User | None = None,
              now: datetime | None = None) -> None:
    """Blank the person's data and every free text of the history; keep the
    figures (structure, needs, dates, status, refusal reason). The attachments
    (their names and bytes) are deleted."""
    at = now or datetime.now(UTC)
    attachments.delete_all(session, orientation)
    orientation.person_name = None
    orientation.person_contact = None
    orientation.message = None
    orientation.refusal_details = None
    for event in orientation.events:
        event.message = None
    orientation.anonymised_at = at
    if orientation.closed_at is None:
        orientation.closed_at = at
    add_event(session, orientation, kind, actor, at, label=None if actor else "cli:orientations")


def _months_before(at: datetime, months: int) -> datetime:
    year, month = divmod(at.year * 12 + at.month - 1 - months, 12)
    day = min(at.day, 28)
    return at.replace(year=year, month=month + 1, day=day)


def anonymise_expired(session: Session, retention_months: int, now: datetime | None = None) -> int:
    """Anonymise the orientations closed more than `retention_months` ago (an open
    one counts from its last step: a forgotten request does not live forever)."""
    at = now or datetime.now(UTC)
    cutoff = _months_before(at, retention_months)
    last_step = select(func.max(OrientationEvent.at)).where(
        OrientationEvent.orientation_id == Orientation.id).scalar_subquery()
    expired = list(session.scalars(
        select(Orientation).where(
            Orientation.anonymised_at.is_(None),
            or_(Orientation.closed_at < cutoff, (Orientation.closed_at.is_(None)) & (last_step < cutoff)),
        ).order_by(Orientation.id)
    ))
    for o in expired:
        anonymise(session, o, now=at)
    session.flush()
    return len(expired)


# --- right of access and erasure --------------------------------------------------------

def find_person(session: Session, user: User, nom: str, contact: str) -> list[Orientation]:
    """The orientations of the person named exactly so (case and spaces aside),
    among those `user` may handle as the SPIE team of their territory."""
    nom, contact = " ".join(nom.split()).lower(), " ".join(contact.split()).lower()
    if not nom or not contact:
        return []
    found = session.scalars(
        select(Orientation).where(
            Orientation.anonymised_at.is_(None),
            func.lower(func.regexp_replace(func.trim(Orientation.person_name), r"\s+", " ", "g")) == nom,
            func.lower(func.regexp_replace(func.trim(Orientation.person_contact), r"\s+", " ", "g")) == contact,
        ).order_by(Orientation.created_at)
    )
    return [o for o in found if permissions.can_handle_personal_data(session, user, o)]


def _user_label(user: User | None) -> str:
    return (user.nom or user.email) if user else "—"


def export_record(orientation: Orientation) -> dict:
    """Everything held about the person in one orientation."""
    labels = vocabulary.thematiques()
    return {
        "orientation": str(orientation.public_id),
        "nom_ou_initiales": orientation.person_name,
        "contact": orientation.person_contact,
        "besoins": [labels.get(n, n) for n in orientation.needs],
        "message": orientation.message,
        "offre": orientation.service.nom if orientation.service else None,
        "structure": orientation.structure.nom,
        "referent": _user_label(orientation.referent),
        "statut": STATE_LABELS[State(orientation.status)],
        "motif_de_refus": REFUSAL_REASONS.get(orientation.refusal_reason or "", None),
        "precisions_du_refus": orientation.refusal_details,
        "consentement": {"recueilli_par": _user_label(orientation.referent),
                         "le": orientation.consent_at.isoformat(), "pour": orientation.consent_purpose},
        "envoyee_le": orientation.created_at.isoformat(),
        "cloturee_le": orientation.closed_at.isoformat() if orientation.closed_at else None,
        "historique": [{"le": e.at.isoformat(), "etape": e.label, "par": _user_label(e.actor) if e.actor
                        else (e.actor_label or "—"), "motif": REFUSAL_REASONS.get(e.reason or "", None),
                        "message": e.message} for e in orientation.events],
        "pieces_jointes": attachments.export(object_session(orientation), orientation),
    }


def export_json(orientations) -> dict:
    return {"generation": datetime.now(UTC).isoformat(), "orientations": [export_record(o) for o in orientations]}


CSV_COLUMNS = ["Orientation", "Nom ou initiales", "Contact", "Besoins", "Message", "Offre", "Structure",
               "Référent", "Statut", "Motif de refus", "Précisions du refus", "Consentement recueilli le",
               "Consentement pour", "Envoyée le", "Clôturée le", "Historique", "Pièces jointes"]


def export_csv(orientations) -> bytes:
    """The same as CSV (UTF-8 with BOM, « ; »), every cell neutralised."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = SafeCsvWriter(out, delimiter=";", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for o in orientations:
        r = export_record(o)
        history = " | ".join(f"{h['le'][:16]} {h['etape']} ({h['par']})" + (f" : {h['message']}" if h["message"] else "")
                             for h in r["historique"])
        writer.writerow([r["orientation"], r["nom_ou_initiales"], r["contact"], ", ".join(r["besoins"]),
                         r["message"] or "", r["offre"] or "", r["structure"], r["referent"], r["statut"],
                         r["motif_de_refus"] or "", r["precisions_du_refus"] or "", r["consentement"]["le"],
                         r["consentement"]["pour"], r["envoyee_le"], r["cloturee_le"] or "", history,
                         " | ".join(f"{a['nom']} ({a['type']}, {a['taille_octets']} octets)"
                                    for a in r["pieces_jointes"])])
    return out.getvalue().encode("utf-8")


def erase_person(session: Session, user: User, orientations, now: datetime | None = None) -> int:
    """The right to erasure: each orientation's personal data blanked, the step
    recorded (« effacée » by whom), the access logged."""
    log_access(session, user, orientations, "effacement")
    for o in orientations:
        anonymise(session, o, kind="effacee", actor=user, now=now)
    session.flush()
    return len(orientations)
