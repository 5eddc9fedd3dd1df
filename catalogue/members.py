"""Read queries of a structure's members page and of « rejoindre une structure »:
its members, invitations and requests to join, who administers it, and the
structures a person may ask to join (web/members.py shows them)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogue.accounts import Invitation, JoinRequest, Membership, Role, User
from catalogue.db import set_actor
from catalogue.models import Status, Structure

SEARCH_LIMIT = 30
PENDING = "en_attente"
_DIGITS = re.compile(r"\D")


def admins_of(db: Session, structure_id: uuid.UUID) -> list[User]:
    """The active administrators of a structure."""
    return list(db.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.structure_id == structure_id, Membership.role == Role.ADMIN, User.is_active)
    ))


def members_page(db: Session, structure_id: uuid.UUID) -> dict:
    """What the members page lists: (membership, person) by e-mail, the open
    invitations (with who invited), the pending requests to join, the last 20
    decided ones and who decided them."""
    members = db.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.structure_id == structure_id).order_by(User.email)
    ).all()
    invitations = db.execute(
        select(Invitation, User).outerjoin(User, User.id == Invitation.invited_by_id)
        .where(Invitation.structure_id == structure_id, Invitation.accepted_at.is_(None))
        .order_by(Invitation.created_at.desc())
    ).all()
    pending = db.execute(
        select(JoinRequest, User).join(User, User.id == JoinRequest.user_id)
        .where(JoinRequest.structure_id == structure_id, JoinRequest.status == PENDING)
        .order_by(JoinRequest.created_at)
    ).all()
    decided = db.execute(
        select(JoinRequest, User).join(User, User.id == JoinRequest.user_id)
        .where(JoinRequest.structure_id == structure_id, JoinRequest.status != PENDING)
        .order_by(JoinRequest.decided_at.desc()).limit(20)
    ).all()
    decider_ids = [jr.decided_by_id for jr, _ in decided if jr.decided_by_id]
    deciders = {u.id: u for u in db.scalars(select(User).where(User.id.in_(decider_ids)))}
    return {"members": members, "invitations": invitations, "pending": pending, "decided": decided,
            "deciders": deciders}


def admin_count(db: Session, structure_id: uuid.UUID) -> int:
    return db.scalar(
        select(func.count()).select_from(Membership)
        .where(Membership.structure_id == structure_id, Membership.role == Role.ADMIN)
    ) or 0


def is_member_email(db: Session, structure_id: uuid.UUID, email: str) -> bool:
    return db.scalar(
        select(Membership.id).join(User, User.id == Membership.user_id)
        .where(Membership.structure_id == structure_id, User.email == email)
    ) is not None


def open_invitation(db: Session, structure_id: uuid.UUID, email: str) -> Invitation | None:
    return db.scalar(select(Invitation).where(
        Invitation.structure_id == structure_id, Invitation.email == email, Invitation.accepted_at.is_(None)
    ))


def membership(db: Session, user_id: int, structure_id: uuid.UUID) -> Membership | None:
    return db.scalar(select(Membership).where(Membership.user_id == user_id, Membership.structure_id == structure_id))


def user_by_email(db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == email))


def search_structures(db: Session, query: str) -> list[Structure]:
    """Structures (not archived, not hidden as duplicates) whose name contains the
    query (accents and case ignored) or whose SIRET (or SIREN) starts with its digits."""
    digits = _DIGITS.sub("", query)
    if len(digits) >= 9 and len(digits) == len(query.replace(" ", "")):
        condition = Structure.siret.startswith(digits)
    else:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        condition = func.unaccent(func.lower(Structure.nom)).like(
            func.unaccent(func.lower("%" + escaped + "%")), escape="\\"
        )
    stmt = (
        select(Structure)
        .where(Structure.status != Status.ARCHIVE, Structure.duplicate_hidden.is_(False), condition)
        .order_by(Structure.nom)
        .limit(SEARCH_LIMIT)
    )
    return list(db.scalars(stmt))


def structures_of(db: Session, user_id: int) -> set[uuid.UUID]:
    """The structures the person is a member of."""
    return set(db.scalars(select(Membership.structure_id).where(Membership.user_id == user_id)))


def structures_asked(db: Session, user_id: int) -> set[uuid.UUID]:
    """The structures the person asked to join, the request still pending."""
    return set(db.scalars(
        select(JoinRequest.structure_id).where(JoinRequest.user_id == user_id, JoinRequest.status == PENDING)
    ))


def has_pending_request(db: Session, user_id: int, structure_id: uuid.UUID) -> bool:
    return db.scalar(select(JoinRequest.id).where(
        JoinRequest.user_id == user_id, JoinRequest.structure_id == structure_id, JoinRequest.status == PENDING
    )) is not None


def users_by_id(db: Session, ids) -> dict[int, User]:
    return {u.id: u for u in db.scalars(select(User).where(User.id.in_(list(ids))))} if ids else {}


def editors_emails(db: Session, structure_ids) -> dict[uuid.UUID, list[str]]:
    """structure id -> e-mails of its active, verified members."""
    rows = db.execute(
        select(Membership.structure_id, User.email)
        .join(User, User.id == Membership.user_id)
        .where(Membership.structure_id.in_(structure_ids), User.is_active.is_(True),
               User.email_verified_at.isnot(None))
    ).all()
    found: dict[uuid.UUID, list[str]] = {}
    for sid, email in rows:
        found.setdefault(sid, []).append(email)
    return found


# --- memberships changed by the members' pages (web/members.py) --------------------

def is_last_admin(db: Session, membership: Membership) -> bool:
    """Whether this membership is its structure's only administrator."""
    if membership.role != Role.ADMIN:
        return False
    return admin_count(db, membership.structure_id) <= 1


def accept_invitation(db: Session, invitation: Invitation, user: User) -> None:
    """The invited person becomes a member (an administrator stays one, an invitation
    as administrator promotes); the invitation is used, the address proved."""
    set_actor(db, f"user:{user.id}")
    existing = membership(db, user.id, invitation.structure_id)
    if existing is None:
        db.add(Membership(user_id=user.id, structure_id=invitation.structure_id, role=invitation.role))
    elif invitation.role == Role.ADMIN:
        existing.role = Role.ADMIN
    invitation.accepted_at = datetime.now(UTC)
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(UTC)  # the link proved the address
