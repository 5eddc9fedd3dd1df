"""The CTO (comité technique opérationnel) and the steering of the offer: the
anonymous search log, shortlists of levers for a blocked situation, committees and
their situations (migration 0006).

Nothing here may identify a person: the search log keeps codes only (never the
free text typed), and a situation carries an internal reference chosen by the
referent (a file number such as « CTO-2026-014 »), never a name.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from catalogue.errors import ValidationError
from catalogue.models import Base

MAX_SITUATIONS = 10
AGENDA_DEADLINE_DAYS = 3  # the agenda is fixed at D-3
SENDING_DAYS = 2  # and sent at D-2
DEFAULT_SHORTLIST_DAYS = 30
MAX_SHORTLIST_DAYS = 180
TOO_MANY_SITUATIONS = "Un comité examine au plus 10 situations : celle-ci ne peut pas être ajoutée."

# A reference is a file number: letters, digits and separators, with at least one
# digit, so that a first and last name ("Marie Dupont") is refused.
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _./-]{0,39}$")


class SearchLog(Base):
    """One anonymous search: the week it was made, the thematiques asked for or
    matched by the free text (never the text itself), the commune, the other
    filters (codes only) and the number of results."""

    __tablename__ = "search_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    week: Mapped[date] = mapped_column(Date)  # the Monday of the week
    thematiques: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    code_commune: Mapped[str | None] = mapped_column(String(5))
    filters: Mapped[dict] = mapped_column(JSONB, default=dict)
    result_count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_search_log_week", "week"),)


class Shortlist(Base):
    """The levers found for one situation: the query (commune, publics, barriers,
    constraints), the offers kept per barrier and the referent's annotations.
    Deleted after `expires_at` (offre cto purge). `remarks` and `annotations` are
    the only free text, typed by a professional; they must not name the person."""

    __tablename__ = "cto_shortlist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    code_commune: Mapped[str] = mapped_column(String(5))
    territory_slug: Mapped[str | None] = mapped_column(String(100))
    publics: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    barriers: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    constraints: Mapped[dict] = mapped_column(JSONB, default=dict)
    remarks: Mapped[str | None] = mapped_column(Text)
    # {barrier code: [service id, …]} as found when saved.
    results: Mapped[dict] = mapped_column(JSONB, default=dict)
    # {service id: note}
    annotations: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Committee(Base):
    __tablename__ = "cto_committee"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    territory_slug: Mapped[str] = mapped_column(String(100))
    date: Mapped[date] = mapped_column(Date)
    agenda_deadline: Mapped[date] = mapped_column(Date)
    sending_date: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    situations: Mapped[list[Situation]] = relationship(
        back_populates="committee", order_by="Situation.id", cascade="all, delete-orphan"
    )


class Situation(Base):
    """A situation on a committee's agenda: an internal reference (never a name)
    and the shortlist of levers prepared for it (gone once it expires)."""

    __tablename__ = "cto_situation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("cto_committee.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(40))
    shortlist_id: Mapped[int | None] = mapped_column(
        ForeignKey("cto_shortlist.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    committee: Mapped[Committee] = relationship(back_populates="situations")
    shortlist: Mapped[Shortlist | None] = relationship()

    __table_args__ = (UniqueConstraint("committee_id", "reference", name="uq_cto_situation_reference"),)


# --- rules ---------------------------------------------------------------------

def week_of(day: date) -> date:
    """The Monday of the week of `day`."""
    return day - timedelta(days=day.weekday())


def new_token() -> str:
    return secrets.token_urlsafe(24)


def create_committee(session: Session, territory_slug: str, day: date, user_id: int | None) -> Committee:
    committee = Committee(
        territory_slug=territory_slug,
        date=day,
        agenda_deadline=day - timedelta(days=AGENDA_DEADLINE_DAYS),
        sending_date=day - timedelta(days=SENDING_DAYS),
        created_by_id=user_id,
    )
    session.add(committee)
    session.flush()
    return committee


def check_reference(reference: str) -> str:
    """The reference, stripped, or ValidationError: a file number with at least one
    digit (« CTO-2026-014 »), so that a name is refused."""
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": ["la référence interne est obligatoire"]})
    if not _REFERENCE.match(reference) or not any(ch.isdigit() for ch in reference):
        raise ValidationError(
            {
                "reference": [
                    "une référence interne est un numéro de dossier (lettres, chiffres, tirets, "
                    "au moins un chiffre, 40 caractères au plus), jamais le nom de la personne"
                ]
            }
        )
    return reference


def add_situation(
    session: Session, committee: Committee, reference: str, shortlist_id: int | None, user_id: int | None
) -> Situation:
    """Adds a situation to the committee's agenda. Refuses the 11th (the committee
    row is locked, so two referents cannot both add the 10th) and a reference
    already on the agenda."""
    reference = check_reference(reference)
    session.execute(select(Committee.id).where(Committee.id == committee.id).with_for_update())
    count = session.scalar(select(func.count()).select_from(Situation).where(Situation.committee_id == committee.id))
    if count >= MAX_SITUATIONS:
        raise ValidationError({"situation": [TOO_MANY_SITUATIONS]})
    taken = session.scalar(
        select(Situation.id).where(Situation.committee_id == committee.id, Situation.reference == reference)
    )
    if taken:
        raise ValidationError({"reference": [f"la référence « {reference} » est déjà à l'ordre du jour"]})
    situation = Situation(
        committee_id=committee.id, reference=reference, shortlist_id=shortlist_id, created_by_id=user_id
    )
    session.add(situation)
    session.flush()
    session.refresh(committee, ["situations"])
    return situation


def purge(session: Session, retention_days: int, now: datetime) -> tuple[int, int]:
    """Deletes search log rows older than the retention and expired shortlists.
    Returns (log rows, shortlists) deleted."""
    cutoff = week_of((now - timedelta(days=retention_days)).date())
    logs = session.execute(delete(SearchLog).where(SearchLog.week < cutoff)).rowcount
    lists = session.execute(delete(Shortlist).where(Shortlist.expires_at <= now)).rowcount
    return logs, lists
