"""Orientations (issue 19, point 2): a referent sends a person's request to the
structure of an offer; the structure's members accept it, refuse it with a reason,
or ask for more information, which the referent gives.

    envoyee ──► acceptee                  (closed)
       │   └──► refusee (+ reason)        (closed)
       └──────► informations_demandees ──► envoyee (the referent answers)
                         ├──► acceptee / refusee

Every step is an OrientationEvent (who, when, what): the audited history. The
person's data (name or initials, contact, needs, message, free text of the
history) are personal data: catalogue.orientation_privacy logs each read,
anonymises them after the retention period, exports and erases them.
The URLs carry `public_id` (random), never the sequential id nor a personal datum.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from catalogue import vocabulary, workdays
from catalogue.accounts import Membership, User
from catalogue.errors import ValidationError
from catalogue.models import Base, Service, Status, Structure

PARIS = ZoneInfo("Europe/Paris")
MAX_NAME = 100
MAX_CONTACT = 300
MAX_MESSAGE = 4000
MAX_NEEDS = 20
# Orientations one referent may send in an hour: each one e-mails a structure's members.
MAX_PER_HOUR = 30
# Who may ask for an offer, in data·inclusion v1 (PersonneMobilisatrice).
PROFESSIONALS = "professionnels"


class State(enum.StrEnum):
    ENVOYEE = "envoyee"
    INFORMATIONS = "informations_demandees"
    ACCEPTEE = "acceptee"
    REFUSEE = "refusee"


STATE_LABELS = {
    State.ENVOYEE: "Envoyée, en attente de réponse",
    State.INFORMATIONS: "Informations demandées",
    State.ACCEPTEE: "Acceptée",
    State.REFUSEE: "Refusée",
}
OPEN = (State.ENVOYEE, State.INFORMATIONS)
_MOVES = {
    State.ENVOYEE: {State.ACCEPTEE, State.REFUSEE, State.INFORMATIONS},
    State.INFORMATIONS: {State.ACCEPTEE, State.REFUSEE, State.ENVOYEE},
}

REFUSAL_REASONS = {
    "hors_criteres": "La personne ne remplit pas les conditions d'accès",
    "complet": "Plus de place disponible pour le moment",
    "hors_zone": "La personne habite hors de la zone d'intervention",
    "besoin_non_couvert": "L'offre ne répond pas au besoin exprimé",
    "deja_accompagnee": "La personne est déjà accompagnée par la structure",
    "injoignable": "La personne n'a pas pu être jointe",
    "autre": "Autre motif (à préciser)",
}

EVENT_LABELS = {
    "envoyee": "Orientation envoyée",
    "acceptee": "Orientation acceptée",
    "refusee": "Orientation refusée",
    "informations_demandees": "Informations demandées au référent",
    "reponse": "Réponse du référent",
    "relance": "Relance envoyée à la structure",
    "anonymisee": "Données personnelles anonymisées (durée de conservation écoulée)",
    "effacee": "Données personnelles effacées à la demande de la personne",
}


class Orientation(Base):
    __tablename__ = "orientation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, default=uuid.uuid4,
                                                 server_default=text("gen_random_uuid()"))
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service.id", ondelete="SET NULL"))
    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structure.id"), index=True)
    referent_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(30), default=State.ENVOYEE, server_default="envoyee", index=True)
    person_name: Mapped[str | None] = mapped_column(Text)
    person_contact: Mapped[str | None] = mapped_column(Text)
    needs: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    message: Mapped[str | None] = mapped_column(Text)
    # The consent: who recorded it (the referent), when, for what.
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consent_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    consent_purpose: Mapped[str] = mapped_column(Text)
    refusal_reason: Mapped[str | None] = mapped_column(String(40))
    refusal_details: Mapped[str | None] = mapped_column(Text)
    # Where it comes from when not the form (e.g. "prescription:<id>").
    source: Mapped[str | None] = mapped_column(String(100))
    # The offer's commune when sent (steering by territory; not a personal datum).
    code_insee: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    # Since when the structure has had to answer (sent, or the referent answered).
    waiting_since: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # first answer
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_reminder_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    service: Mapped[Service | None] = relationship()
    structure: Mapped[Structure] = relationship()
    referent: Mapped[User | None] = relationship(foreign_keys=[referent_id])
    events: Mapped[list[OrientationEvent]] = relationship(
        back_populates="orientation", order_by="OrientationEvent.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("status IN ('envoyee', 'informations_demandees', 'acceptee', 'refusee')", name="status"),
        CheckConstraint("status <> 'refusee' OR refusal_reason IS NOT NULL", name="refusal"),
    )

    @property
    def state_label(self) -> str:
        return STATE_LABELS[State(self.status)]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN and self.anonymised_at is None


class OrientationEvent(Base):
    """One step of an orientation's history: who, when, what."""

    __tablename__ = "orientation_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    orientation_id: Mapped[int] = mapped_column(ForeignKey("orientation.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    actor_label: Mapped[str | None] = mapped_column(String(100))  # "cli:orientations" for the jobs
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)  # personal: blanked by the anonymisation

    orientation: Mapped[Orientation] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_orientation_event_orientation_at", "orientation_id", "at"),)

    @property
    def label(self) -> str:
        return EVENT_LABELS.get(self.kind, self.kind)


class PersonalDataAccess(Base):
    """Every read of an orientation's personal data: who, when, which, what for
    (detail, liste, export, effacement). No foreign key: the trace outlives the data."""

    __tablename__ = "personal_data_access"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    user_id: Mapped[int | None] = mapped_column(Integer)
    orientation_id: Mapped[int | None] = mapped_column(Integer)
    orientation_public_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(30))

    __table_args__ = (
        Index("ix_personal_data_access_orientation", "orientation_id", "at"),
        Index("ix_personal_data_access_user", "user_id", "at"),
    )


@dataclass(frozen=True)
class Person:
    """The person oriented: a name or initials, and how the structure reaches them."""

    nom: str
    contact: str


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def orientable(service: Service) -> bool:
    """Professionals may ask for it on the person's behalf (data·inclusion
    `mobilisable_par`), and it is public."""
    return (PROFESSIONALS in (service.mobilisable_par or []) and service.status == Status.PUBLIE
            and service.structure.status == Status.PUBLIE)


def receivers(session: Session, structure_id: uuid.UUID) -> list[User]:
    """The structure's active, verified members: who receive its orientations."""
    return list(session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.structure_id == structure_id, User.is_active.is_(True),
               User.email_verified_at.isnot(None)).order_by(User.id)
    ))


def consent_purpose(service: Service) -> str:
    return (f"Transmettre son nom, son contact et ses besoins à « {service.structure.nom} » pour "
            f"l'étude de sa demande d'accès à l'offre « {service.nom} ».")


def need_choices(service: Service) -> dict[str, str]:
    """The needs one may name: the offer's thematiques (all of them when it has none)."""
    labels = vocabulary.thematiques()
    codes = [t for t in (service.thematiques or []) if t in labels] or list(labels)
    return {code: labels[code] for code in codes}


def _check_text(errors: dict, field: str, value: str | None, *, required: bool, maximum: int, minimum: int = 1):
    value = (value or "").strip()
    if not value:
        if required:
            errors.setdefault(field, []).append("obligatoire")
        return None
    if len(value) < minimum:
        errors.setdefault(field, []).append(f"{minimum} caractères au moins")
    if len(value) > maximum:
        errors.setdefault(field, []).append(f"{maximum} caractères au plus (reçu {len(value)})")
    return value


def create_orientation(session: Session, *, referent: User, service: Service, person: Person,
                       needs: list[str], message: str | None, consent: bool, source: str | None = None,
                       now: datetime | None = None) -> Orientation:
    """Send `person`'s request to `service`'s structure on behalf of `referent`.
    `consent` says the person agreed (recorded: the referent, now, for what);
    `needs` are thematique codes of the offer. Raises ValidationError naming each
    field (nom, contact, besoins, message, consentement, offre). The caller sends
    the e-mails (web.orientation.notify.orientation_sent)."""
    errors: dict[str, list[str]] = {}
    nom = _check_text(errors, "nom", person.nom, required=True, maximum=MAX_NAME)
    contact = _check_text(errors, "contact", person.contact, required=True, maximum=MAX_CONTACT, minimum=3)
    text_ = _check_text(errors, "message", message, required=False, maximum=MAX_MESSAGE)
    choices = need_choices(service)
    needs = list(dict.fromkeys(needs or []))
    unknown = [n for n in needs if n not in choices]
    if not needs:
        errors.setdefault("besoins", []).append("choisissez au moins un besoin")
    elif unknown or len(needs) > MAX_NEEDS:
        errors.setdefault("besoins", []).append(f"besoin inconnu de cette offre : « {(unknown or needs)[0][:60]} »")
    if consent is not True:
        errors.setdefault("consentement", []).append("l'accord de la personne est obligatoire")
    if not orientable(service):
        errors.setdefault("offre", []).append("cette offre ne reçoit pas d'orientation de professionnels")
    elif not receivers(session, service.structure_id):
        errors.setdefault("offre", []).append(
            "cette structure n'a pas encore de compte pour recevoir des orientations : contactez-la directement")
    if errors:
        raise ValidationError(errors)
    at = _now(now)
    orientation = Orientation(
        service_id=service.id, structure_id=service.structure_id, referent_id=referent.id,
        status=State.ENVOYEE, person_name=nom, person_contact=contact, needs=needs, message=text_,
        consent_at=at, consent_by_id=referent.id, consent_purpose=consent_purpose(service),
        source=(source or None) and source[:100], code_insee=service.code_insee or service.structure.code_insee,
        created_at=at, waiting_since=at,
    )
    session.add(orientation)
    session.flush()
    add_event(session, orientation, "envoyee", referent, at)
    return orientation


def add_event(session, orientation, kind, actor: User | None, at, *, reason=None, message=None, label=None):
    event = OrientationEvent(at=at, actor_id=actor.id if actor else None, actor_label=label, kind=kind,
                             reason=reason, message=message)
    orientation.events.append(event)
    session.flush()
    return event


def _move(orientation: Orientation, to: State) -> None:
    if orientation.anonymised_at is not None:
        raise ValidationError({"statut": ["les données de cette orientation ont été effacées"]})
    if to not in _MOVES.get(State(orientation.status), set()):
        raise ValidationError({"statut": [
            f"impossible : l'orientation est « {orientation.state_label.lower()} »"]})
    orientation.status = to


def _answered(orientation: Orientation, at: datetime) -> None:
    if orientation.answered_at is None:
        orientation.answered_at = at


def accept(session: Session, orientation: Orientation, actor: User, message: str | None = None,
           now: datetime | None = None) -> None:
    errors: dict = {}
    text_ = _check_text(errors, "message", message, required=False, maximum=MAX_MESSAGE)
    if errors:
        raise ValidationError(errors)
    _move(orientation, State.ACCEPTEE)
    at = _now(now)
    _answered(orientation, at)
    orientation.closed_at = at
    add_event(session, orientation, "acceptee", actor, at, message=text_)


def refuse(session: Session, orientation: Orientation, actor: User, reason: str, details: str | None = None,
           now: datetime | None = None) -> None:
    errors: dict = {}
    if reason not in REFUSAL_REASONS:
        errors["motif"] = ["choisissez un motif de la liste"]
    text_ = _check_text(errors, "precisions", details, required=reason == "autre", maximum=MAX_MESSAGE)
    if errors:
        raise ValidationError(errors)
    _move(orientation, State.REFUSEE)
    at = _now(now)
    _answered(orientation, at)
    orientation.closed_at = at
    orientation.refusal_reason, orientation.refusal_details = reason, text_
    add_event(session, orientation, "refusee", actor, at, reason=reason, message=text_)


def ask_information(session: Session, orientation: Orientation, actor: User, question: str,
                    now: datetime | None = None) -> None:
    errors: dict = {}
    text_ = _check_text(errors, "question", question, required=True, maximum=MAX_MESSAGE)
    if errors:
        raise ValidationError(errors)
    _move(orientation, State.INFORMATIONS)
    at = _now(now)
    _answered(orientation, at)
    add_event(session, orientation, "informations_demandees", actor, at, message=text_)


def answer(session: Session, orientation: Orientation, actor: User, reply: str, now: datetime | None = None) -> None:
    """The referent gives the information asked: the structure must answer again."""
    errors: dict = {}
    text_ = _check_text(errors, "reponse", reply, required=True, maximum=MAX_MESSAGE)
    if errors:
        raise ValidationError(errors)
    if orientation.status != State.INFORMATIONS:
        raise ValidationError({"statut": ["aucune information n'est demandée pour cette orientation"]})
    _move(orientation, State.ENVOYEE)
    at = _now(now)
    orientation.waiting_since = at
    add_event(session, orientation, "reponse", actor, at, message=text_)


# --- lists ---------------------------------------------------------------------------

def by_public_id(session: Session, public_id: uuid.UUID) -> Orientation | None:
    return session.scalar(select(Orientation).where(Orientation.public_id == public_id))


def sent_by(session: Session, user: User, limit: int = 200) -> list[Orientation]:
    """« Mes orientations »: those the referent sent, newest first."""
    return list(session.scalars(
        select(Orientation).where(Orientation.referent_id == user.id)
        .order_by(Orientation.created_at.desc(), Orientation.id.desc()).limit(limit)
    ))


def received_by(session: Session, user: User, limit: int = 200) -> list[Orientation]:
    """The inbox: those sent to the structures `user` is a member of; open ones first."""
    mine = select(Membership.structure_id).where(Membership.user_id == user.id)
    return list(session.scalars(
        select(Orientation).where(Orientation.structure_id.in_(mine))
        .order_by(Orientation.closed_at.is_not(None), Orientation.waiting_since.desc(), Orientation.id.desc())
        .limit(limit)
    ))


def sent_in_the_last_hour(session: Session, user: User, now: datetime | None = None) -> int:
    since = _now(now) - timedelta(hours=1)
    return session.scalar(select(func.count(Orientation.id)).where(
        Orientation.referent_id == user.id, Orientation.created_at >= since)) or 0


# --- reminders --------------------------------------------------------------------------

def _paris_day(at: datetime) -> date:
    return at.astimezone(PARIS).date()


def due_reminders(session: Session, today: date, days: int) -> list[Orientation]:
    """Orientations awaiting the structure's answer for `days` working days or more
    (since sent, answered by the referent, or last reminded)."""
    waiting = session.scalars(
        select(Orientation).where(Orientation.status == State.ENVOYEE, Orientation.anonymised_at.is_(None))
        .order_by(Orientation.id)
    )
    due = []
    for o in waiting:
        since = o.waiting_since
        if o.last_reminder_at is not None and o.last_reminder_at > since:
            since = o.last_reminder_at
        if workdays.working_days_between(_paris_day(since), today) >= days:
            due.append(o)
    return due


def record_reminder(session: Session, orientation: Orientation, recipients: int, now: datetime | None = None) -> None:
    at = _now(now)
    orientation.last_reminder_at = at
    orientation.reminders_sent += 1
    add_event(session, orientation, "relance", None, at, label="cli:orientations",
           message=None if recipients else "aucun membre à prévenir")
