"""Who may do what: the one place where the rules live (docs/permissions.md).

Every function takes the acting user (or None for an anonymous visitor) and
answers with a boolean; the web layer turns False into 403/404."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from catalogue.accounts import Membership, ModeratorScope, Role, User
from catalogue.models import Service, Structure


def role_in(session: Session, user: User | None, structure_id: uuid.UUID) -> Role | None:
    if user is None:
        return None
    return session.scalar(
        select(Membership.role).where(
            Membership.user_id == user.id, Membership.structure_id == structure_id
        )
    )


def moderates_structure(session: Session, user: User | None, structure: Structure) -> bool:
    """A moderator's scope covers a structure placed in one of its départements or
    territory communes (or offering a service there)."""
    if user is None:
        return False
    if user.is_admin:
        return True
    scopes = session.scalars(select(ModeratorScope).where(ModeratorScope.user_id == user.id)).all()
    if not scopes:
        return False
    communes = set(
        session.scalars(
            select(Service.code_insee).where(Service.structure_id == structure.id, Service.code_insee.isnot(None))
        )
    )
    if structure.code_insee:
        communes.add(structure.code_insee)
    if not communes:
        return False
    deps = set(
        session.scalars(
            text("SELECT departement_code FROM geo_commune WHERE code = ANY(:c)"), {"c": list(communes)}
        )
    )
    for scope in scopes:
        if scope.departement_code and scope.departement_code in deps:
            return True
        if scope.territory_slug:
            inside = session.scalar(
                text("SELECT communes && CAST(:c AS varchar[]) FROM geo_territory WHERE slug = :s"),
                {"c": list(communes), "s": scope.territory_slug},
            )
            if inside:
                return True
    return False


def can_edit_structure_services(session: Session, user: User | None, structure: Structure) -> bool:
    """Create, edit, archive, restore, confirm the services of `structure`, and read
    its drafts."""
    if user is None or not user.is_active:
        return False
    if user.is_admin or role_in(session, user, structure.id) is not None:
        return True
    return moderates_structure(session, user, structure)


def can_manage_members(session: Session, user: User | None, structure: Structure) -> bool:
    """Invite, approve join requests, change roles."""
    if user is None or not user.is_active:
        return False
    if user.is_admin or role_in(session, user, structure.id) == Role.ADMIN:
        return True
    return moderates_structure(session, user, structure)


def can_end_sessions(user: User | None, target: User) -> bool:
    """End every session of `target` (log it out everywhere): the person, and the
    service's administrators for anyone."""
    if user is None or not user.is_active:
        return False
    return user.is_admin or user.id == target.id


def is_moderator(session: Session, user: User | None) -> bool:
    if user is None or not user.is_active:
        return False
    if user.is_admin:
        return True
    return session.scalar(select(ModeratorScope.id).where(ModeratorScope.user_id == user.id).limit(1)) is not None


def is_professional(user: User | None) -> bool:
    """Any logged-in, verified account (referents, partners, moderators)."""
    return user is not None and user.is_active and user.email_verified_at is not None
