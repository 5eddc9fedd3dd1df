"""The reads and the one clean-up of the accounts' pages (web/auth): a user by
address, the login attempts forgotten after a success, and what « Mon espace »
lists (structures and roles, join requests, invitations, moderation scopes)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from catalogue.accounts import (
    Invitation,
    JoinRequest,
    LoginAttempt,
    Membership,
    ModeratorScope,
    User,
)
from catalogue.models import Structure


def forget_login_attempts(db: Session, email: str) -> None:
    """After a successful login or a reset: the address starts afresh."""
    db.execute(delete(LoginAttempt).where(LoginAttempt.email == email))


def memberships_of(db: Session, user: User) -> list[tuple[Membership, Structure]]:
    return db.execute(
        select(Membership, Structure)
        .join(Structure, Structure.id == Membership.structure_id)
        .where(Membership.user_id == user.id)
        .order_by(Structure.nom)
    ).all()


def join_requests_of(db: Session, user: User, limit: int = 20) -> list[tuple[JoinRequest, Structure]]:
    return db.execute(
        select(JoinRequest, Structure)
        .join(Structure, Structure.id == JoinRequest.structure_id)
        .where(JoinRequest.user_id == user.id)
        .order_by(JoinRequest.created_at.desc())
        .limit(limit)
    ).all()


def open_invitations_of(db: Session, user: User) -> list[tuple[Invitation, Structure]]:
    return db.execute(
        select(Invitation, Structure)
        .join(Structure, Structure.id == Invitation.structure_id)
        .where(Invitation.email == user.email, Invitation.accepted_at.is_(None))
        .order_by(Invitation.created_at.desc())
    ).all()


def moderation_scopes_of(db: Session, user: User) -> list[ModeratorScope]:
    return list(db.scalars(select(ModeratorScope).where(ModeratorScope.user_id == user.id)))
