"""Who may do what: the one place where the rules live (docs/permissions.md).

Every function takes the acting user (or None for an anonymous visitor) and
answers with a boolean; the web layer turns False into 403/404."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, or_, select, text, true
from sqlalchemy.orm import Session

from catalogue.accounts import Membership, ModeratorScope, Role, User
from catalogue.cto import Committee, CtoMembership, Situation
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


# --- the CTO and the steering ----------------------------------------------------------
#
# The CTO's committees, agendas, situations and shortlists are the most sensitive
# data of the service (situations of people in difficulty). A CTO membership
# (catalogue.cto.CtoMembership) for a territory or a committee opens them; an
# account that merely registered has none and sees only the public catalogue.


def moderated_territories(session: Session, user: User | None) -> set[str] | None:
    """The territories (geo_territory slugs) a moderator's scope covers: their
    territories, and those with a commune in one of their départements. None for
    an administrator (all); an empty set for anybody else."""
    if user is None or not user.is_active:
        return set()
    if user.is_admin:
        return None
    scopes = session.scalars(select(ModeratorScope).where(ModeratorScope.user_id == user.id)).all()
    slugs = {s.territory_slug for s in scopes if s.territory_slug}
    deps = [s.departement_code for s in scopes if s.departement_code]
    if deps:
        slugs |= set(session.scalars(
            text("SELECT DISTINCT t.slug FROM geo_territory t JOIN geo_commune c ON c.code = ANY(t.communes) "
                 "WHERE c.departement_code = ANY(:d)"),
            {"d": deps},
        ))
    return slugs


def _cto_memberships(session: Session, user: User):
    return session.scalars(select(CtoMembership).where(CtoMembership.user_id == user.id)).all()


def has_cto_access(session: Session, user: User | None) -> bool:
    """/cto: the levers tool, the committees one belongs to, shared lists. The
    SPIE team (administrators, moderators) and the people given a CTO membership;
    never an account with no role."""
    if not is_professional(user):
        return False
    if user.is_admin or is_moderator(session, user):
        return True
    return bool(_cto_memberships(session, user))


def can_see_steering(session: Session, user: User | None) -> bool:
    """/pilotage (dashboard, coverage gaps, unmet demand: aggregates, nothing that
    names a person): the SPIE team and the CTO members, who steer the offer of
    their territory."""
    return has_cto_access(session, user)


def can_manage_cto_access(session: Session, user: User | None) -> bool:
    """The page that grants and revokes CTO memberships: administrators, and
    moderators for the territories of their scope."""
    return is_professional(user) and is_moderator(session, user)


def can_grant_cto(session: Session, user: User | None, territory_slug: str) -> bool:
    """Grant or revoke a CTO membership for this territory, or for a committee of
    it: an administrator; a moderator whose scope covers the territory."""
    if not is_professional(user):
        return False
    covered = moderated_territories(session, user)
    return covered is None or territory_slug in covered


def can_create_committee(session: Session, user: User | None, territory_slug: str) -> bool:
    """An administrator, a moderator of the territory, or a CTO member of the whole
    territory (its coordinator); the creator then reads and writes the committee."""
    if not is_professional(user):
        return False
    if can_grant_cto(session, user, territory_slug):
        return True
    return any(m.territory_slug == territory_slug for m in _cto_memberships(session, user))


def readable_committees(user: User):
    """The condition on Committee of those `user` may read and write: created by
    them, or opened to them by a membership of the committee or of its territory;
    all of them for an administrator."""
    if user.is_admin:
        return true()
    return or_(
        Committee.created_by_id == user.id,
        Committee.id.in_(select(CtoMembership.committee_id).where(
            CtoMembership.user_id == user.id, CtoMembership.committee_id.isnot(None))),
        Committee.territory_slug.in_(select(CtoMembership.territory_slug).where(
            CtoMembership.user_id == user.id, CtoMembership.territory_slug.isnot(None))),
    )


def can_read_committee(session: Session, user: User | None, committee) -> bool:
    """Its agenda (page and PDF), its situations and their lists, and adding a
    situation: its members and its creator (and administrators), nobody else —
    neither a member of another committee nor a moderator who has not given
    themselves the right."""
    if not is_professional(user):
        return False
    return session.scalar(
        select(Committee.id).where(Committee.id == committee.id, readable_committees(user))
    ) is not None


def can_remove_situation(session: Session, user: User | None, situation) -> bool:
    """The referent who put it on the agenda or the committee's creator (or an
    administrator), while they can still read the committee."""
    if not can_read_committee(session, user, situation.committee):
        return False
    return user.is_admin or user.id in (situation.created_by_id, situation.committee.created_by_id)


def can_edit_shortlist(user: User | None, shortlist) -> bool:
    """Annotate, share, put on an agenda, delete: its creator (or an administrator)."""
    return is_professional(user) and (user.is_admin or shortlist.created_by_id == user.id)


def can_read_shortlist(session: Session, user: User | None, shortlist) -> bool:
    """By its owner's link: its creator (or an administrator), and the members of a
    committee that has it on its agenda. (A shared link is has_cto_access's.)"""
    if can_edit_shortlist(user, shortlist):
        return True
    if not is_professional(user):
        return False
    return session.scalar(
        select(Situation.id).join(Committee, Committee.id == Situation.committee_id)
        .where(Situation.shortlist_id == shortlist.id, readable_committees(user)).limit(1)
    ) is not None


# --- orientations (issue 19, feat-orient) ------------------------------------------------
#
# An orientation carries a person's data (name or initials, contact, needs): only
# the referent who sent it, the members of the structure that receives it and the
# SPIE team of the structure's territory (administrators; moderators whose scope
# covers the structure) read it. CTO members who are none of these see only the
# steering's aggregates (/pilotage/orientations). Every read is logged
# (catalogue.orientation_privacy.log_access).


def can_orient(session: Session, user: User | None, service: Service) -> bool:
    """Send an orientation to the offer's structure: any professional, for an offer
    that professionals may mobilise (catalogue.orientation.orientable)."""
    from catalogue.orientation import orientable

    return is_professional(user) and orientable(service)


def is_orientation_receiver(session: Session, user: User | None, orientation) -> bool:
    """A member (or admin) of the receiving structure: accepts, refuses, asks."""
    return is_professional(user) and role_in(session, user, orientation.structure_id) is not None


def can_handle_personal_data(session: Session, user: User | None, orientation) -> bool:
    """The SPIE team of the orientation's territory: reads it, exports and erases
    the person's data on request."""
    return is_professional(user) and moderates_structure(session, user, orientation.structure)


def can_read_orientation(session: Session, user: User | None, orientation) -> bool:
    if not is_professional(user):
        return False
    return (orientation.referent_id == user.id or is_orientation_receiver(session, user, orientation)
            or can_handle_personal_data(session, user, orientation))


def can_answer_orientation(session: Session, user: User | None, orientation) -> bool:
    """Accept, refuse, ask for information: the receiving structure's members."""
    return orientation.is_open and is_orientation_receiver(session, user, orientation)


def can_reply_orientation(user: User | None, orientation) -> bool:
    """Give the information asked: the referent who sent it."""
    return is_professional(user) and orientation.is_open and orientation.referent_id == user.id


def can_use_data_rights(session: Session, user: User | None) -> bool:
    """The page of the rights of access and erasure: the SPIE team (administrators,
    moderators); each orientation found is then checked by can_handle_personal_data."""
    return is_professional(user) and is_moderator(session, user)
# --- Prescriptions SPIE (feat-prescr) ---------------------------------------------------
#
# A prescription carries a person's data: the referent who wrote it and the SPIE team
# of its territory read it, nobody else. The SPIE team of a territory: the service's
# administrators, the moderators whose scope covers the territory, and the CTO members
# of the whole territory (a membership of one committee is not enough: a member of
# committee A reads no prescription, of territory A or B).


def can_prescribe(session: Session, user: User | None) -> bool:
    """The form and « Mes prescriptions »: a referent of any partner (a member of a
    structure), the SPIE team and the CTO members; not an account with no role."""
    if not is_professional(user):
        return False
    if user.is_admin or has_cto_access(session, user):
        return True
    return session.scalar(select(Membership.id).where(Membership.user_id == user.id).limit(1)) is not None


def spie_territories(session: Session, user: User | None) -> set[str] | None:
    """The territories whose SPIE team `user` belongs to (None: all of them, for an
    administrator)."""
    if not is_professional(user):
        return set()
    covered = moderated_territories(session, user)
    if covered is None:
        return None
    return covered | {m.territory_slug for m in _cto_memberships(session, user) if m.territory_slug}


def is_spie_team(session: Session, user: User | None) -> bool:
    """/cto/prescriptions: a member of the SPIE team of at least one territory."""
    territories = spie_territories(session, user)
    return territories is None or bool(territories)


def can_manage_prescription(session: Session, user: User | None, prescription) -> bool:
    """Put on an agenda, record the plan, close: the SPIE team of its territory."""
    territories = spie_territories(session, user)
    return territories is None or prescription.territory_slug in territories


def can_read_prescription(session: Session, user: User | None, prescription) -> bool:
    """Its personal data: its prescriber and the SPIE team of its territory."""
    if not is_professional(user):
        return False
    if prescription.prescriber_id == user.id:
        return True
    return can_manage_prescription(session, user, prescription)
# --- selections for the person (feat-selection) ------------------------------------
#
# A selection holds public offers only (catalogue.selection): anyone may build one,
# with or without an account, kept in their own session cookie. A short link opens
# its frozen list to whoever holds the token, without an account, until it expires;
# only its creator — the session that keeps its owner secret — may delete it.


def can_build_selection(user: User | None) -> bool:
    """Add, remove, reorder, print, download, e-mail, share: everybody."""
    return True


def can_read_selection_link(link, now) -> bool:
    """Whoever holds the token, until the link expires."""
    return link is not None and link.expires_at > now


def can_delete_selection_link(link, secret_hash: str) -> bool:
    """Only its creator: the sha256 of the secret their session keeps is the link's."""
    import hmac

    return link is not None and hmac.compare_digest(link.owner_hash, secret_hash)
# ------------------------------------------------------------------- CTO accesses (arch-web)
# Moved from web/cto/routes.py: the territory an access counts for.


def can_revoke_cto(session: Session, user: User | None, membership) -> bool:
    """Taking back a CTO access: who may give one on its territory (that of its
    committee for an access to one committee)."""
    slug = membership.territory_slug or membership.committee.territory_slug
    return can_grant_cto(session, user, slug)


# --- attachments of an orientation (issue 19, orient-attach) -------------------------------
# Downloaded only by who reads the orientation: its referent, the receiving
# structure's members, the SPIE team of its territory; never once its personal
# data are anonymised (the files are deleted then anyway). Each download is logged.


def can_download_orientation_attachment(session: Session, user: User | None, orientation) -> bool:
    return orientation.anonymised_at is None and can_read_orientation(session, user, orientation)


# --- the public map's scan (issue 22, map) -----------------------------------------------------
# PUBLIC_SERVICE_SQL without the join: the same rule (a published offer of a published
# structure) written so that PostgreSQL tests it with one hashed set of the few hidden
# structures instead of a lookup per offer (the map's clusters scan tens of thousands).
PUBLIC_SERVICE_SCAN_SQL = (
    "s.status = 'publie' AND s.structure_id NOT IN (SELECT id FROM structure WHERE status <> 'publie')"
)
