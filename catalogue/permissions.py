"""Who may do what: the one place where the rules live (docs/permissions.md).

Every function takes the acting user (or None for an anonymous visitor) and
answers with a boolean; the web layer turns False into 403/404."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, select, text
from sqlalchemy.orm import Session

from catalogue.accounts import Membership, ModeratorScope, Role, User
from catalogue.models import Service, Status, Structure

# --- the public ---------------------------------------------------------------

# An offer is public when it is published and so is its structure: an archived or
# unpublished structure hides its offers on every public surface (page, map and
# its popups, search, exports, API read). The search table computes the same
# rule in SQL (migration 0010, column `visible`); so do the exports.
PUBLIC_SERVICE_SQL = "s.status = 'publie' AND st.status = 'publie'"  # service s JOIN structure st


def public_service():
    """The condition on Service joined with its Structure."""
    return and_(Service.status == Status.PUBLIE, Structure.status == Status.PUBLIE)


def is_public(service: Service) -> bool:
    return service.status == Status.PUBLIE and service.structure.status == Status.PUBLIE


def public_status(service_status: Status, structure_status: Status) -> Status:
    """The status the public sees: a draft if either is a draft, archived if either
    is archived, else published."""
    statuses = {service_status, structure_status}
    if Status.BROUILLON in statuses:
        return Status.BROUILLON
    if Status.ARCHIVE in statuses:
        return Status.ARCHIVE
    return Status.PUBLIE


# --- structures and their offers ---------------------------------------------------

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


def is_moderator(session: Session, user: User | None) -> bool:
    if user is None or not user.is_active:
        return False
    if user.is_admin:
        return True
    return session.scalar(select(ModeratorScope.id).where(ModeratorScope.user_id == user.id).limit(1)) is not None


def is_professional(user: User | None) -> bool:
    """Any logged-in, verified account (referents, partners, moderators)."""
    return user is not None and user.is_active and user.email_verified_at is not None
