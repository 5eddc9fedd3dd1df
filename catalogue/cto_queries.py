"""Read queries of the CTO pages: a person's shortlists, the committees they may
read, a committee and its situations by public id, and who has the CTO on
which territories (catalogue.cto holds the models and the writes)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogue import permissions
from catalogue.accounts import User
from catalogue.cto import Committee, CtoMembership, Shortlist, Situation


def shortlists_of(session: Session, user: User, now: datetime, limit: int = 100) -> list[Shortlist]:
    """The person's own live shortlists, newest first."""
    return list(session.scalars(
        select(Shortlist)
        .where(Shortlist.created_by_id == user.id, Shortlist.expires_at > now)
        .order_by(Shortlist.created_at.desc())
        .limit(limit)
    ))


def upcoming_committees(session: Session, user: User, today: date, limit: int = 100) -> list[Committee]:
    """The coming committees the person may read (and write)."""
    return list(session.scalars(
        select(Committee)
        .where(Committee.date >= today, permissions.readable_committees(user))
        .order_by(Committee.date, Committee.id).limit(limit)
    ))


def committee_by_public_id(session: Session, public_id: uuid.UUID | None) -> Committee | None:
    if public_id is None:
        return None
    return session.scalar(select(Committee).where(Committee.public_id == public_id))


def situation_of(session: Session, committee: Committee, public_id: uuid.UUID) -> Situation | None:
    """The situation of this public id on this committee's agenda (None elsewhere)."""
    return session.scalar(select(Situation).where(Situation.public_id == public_id,
                                                  Situation.committee_id == committee.id))


def committees_on(session: Session, slugs: list[str], today: date, limit: int = 500) -> list[Committee]:
    """The coming committees of these territories."""
    return list(session.scalars(
        select(Committee).where(Committee.territory_slug.in_(slugs), Committee.date >= today)
        .order_by(Committee.date, Committee.id).limit(limit)
    ))


def memberships_on(session: Session, slugs: list[str]) -> list:
    """(membership, person, committee or None) rows of the CTO accesses given on these
    territories or on one of their committees, by e-mail."""
    return session.execute(
        select(CtoMembership, User, Committee)
        .join(User, User.id == CtoMembership.user_id)
        .outerjoin(Committee, Committee.id == CtoMembership.committee_id)
        .where((CtoMembership.territory_slug.in_(slugs)) | (Committee.territory_slug.in_(slugs)))
        .order_by(User.email, CtoMembership.created_at)
    ).all()


def cto_access(session: Session, user_id: int, territory_slug: str | None,
               committee: Committee | None) -> CtoMembership | None:
    """The person's CTO access to this territory (or, without one, to this committee)."""
    condition = (CtoMembership.territory_slug == territory_slug) if territory_slug else (
        CtoMembership.committee_id == committee.id)
    return session.scalar(select(CtoMembership).where(CtoMembership.user_id == user_id, condition))


def cto_accesses(session: Session, user_id: int | None = None) -> list:
    """(membership, person, committee or None) rows of every CTO access (or one
    person's), by e-mail."""
    stmt = (select(CtoMembership, User, Committee).join(User, User.id == CtoMembership.user_id)
            .outerjoin(Committee, Committee.id == CtoMembership.committee_id)
            .order_by(User.email, CtoMembership.created_at))
    if user_id is not None:
        stmt = stmt.where(User.id == user_id)
    return session.execute(stmt).all()
