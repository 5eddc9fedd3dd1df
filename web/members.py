"""Joining a structure: invitations (sent by its admin or a moderator), join
requests (approved or refused by them), and the members page of a structure.

Who may manage members is decided by catalogue.permissions.can_manage_members;
anybody else gets 403 (404 when the structure does not exist)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from catalogue import members as members_q
from catalogue import permissions, user_sessions
from catalogue.accounts import Invitation, JoinRequest, Membership, Role, User
from catalogue.db import set_actor
from catalogue.models import Status, Structure
from web import auth
from web.access import current_user, login_required
from web.db import get_session

log = logging.getLogger(__name__)

bp = Blueprint("members", __name__)
bp.register_error_handler(403, auth.forbidden)

MESSAGE_MAX = 1000


def _structure_or_404(db, structure_id: str) -> Structure:
    try:
        sid = uuid.UUID(structure_id)
    except ValueError:
        abort(404)
    structure = db.get(Structure, sid)
    if structure is None:
        abort(404)
    return structure


def _managed_structure(structure_id: str) -> Structure:
    db = get_session()
    structure = _structure_or_404(db, structure_id)
    if not permissions.can_manage_members(db, current_user(), structure):
        abort(403, description="Seuls les administrateurs de cette structure et les modérateurs de son territoire gèrent ses membres.")
    return structure


def _role_or_none(value: str | None) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


def _admins_of(db, structure_id) -> list[User]:
    return members_q.admins_of(db, structure_id)


def _to_members(structure: Structure, anchor: str = ""):
    return redirect(url_for("members.members", structure_id=structure.id) + anchor)


# ---------------------------------------------------------------- members page


def _members_page(structure: Structure, status: int = 200, invite_form=None, errors=None):
    listed = members_q.members_page(get_session(), structure.id)
    return render_template(
        "account/members.html",
        structure=structure,
        **listed,
        roles=list(Role),
        me=current_user(),
        invite_form=invite_form or {"email": "", "role": Role.MEMBRE.value},
        errors=errors or {},
    ), status


@bp.get("/espace/structures/<structure_id>/membres")
@login_required
def members(structure_id):
    return _members_page(_managed_structure(structure_id))


def _membership_of(db, structure: Structure, membership_id: int) -> Membership:
    membership = db.get(Membership, membership_id)
    if membership is None or membership.structure_id != structure.id:
        abort(404)
    return membership


@bp.post("/espace/structures/<structure_id>/membres/<int:membership_id>/role")
@login_required
def change_role(structure_id, membership_id):
    structure = _managed_structure(structure_id)
    db = get_session()
    membership = _membership_of(db, structure, membership_id)
    role = _role_or_none(request.form.get("role"))
    if role is None:
        flash("Rôle : choisissez « membre » ou « administrateur de la structure ».", "error")
        return _to_members(structure, "#membres"), 303
    if role == membership.role:
        flash("Rôle inchangé.", "success")
        return _to_members(structure, "#membres"), 303
    if role == Role.MEMBRE and members_q.is_last_admin(db, membership):
        flash("Rôle : la structure doit garder au moins un administrateur. Nommez-en un autre d'abord.", "error")
        return _to_members(structure, "#membres"), 303
    set_actor(db, f"user:{current_user().id}")
    membership.role = role
    db.commit()
    flash(f"Rôle de {membership.user.email} : {auth.role_label(role)}.", "success")
    return _to_members(structure, "#membres"), 303


@bp.post("/espace/structures/<structure_id>/membres/<int:membership_id>/retirer")
@login_required
def remove_member(structure_id, membership_id):
    structure = _managed_structure(structure_id)
    db = get_session()
    membership = _membership_of(db, structure, membership_id)
    if members_q.is_last_admin(db, membership):
        flash("Impossible de retirer le dernier administrateur de la structure. Nommez-en un autre d'abord.", "error")
        return _to_members(structure, "#membres"), 303
    email = membership.user.email
    set_actor(db, f"user:{current_user().id}")
    db.delete(membership)
    db.commit()
    flash(f"{email} ne fait plus partie de la structure.", "success")
    return _to_members(structure, "#membres"), 303


@bp.post("/espace/structures/<structure_id>/membres/<int:membership_id>/sessions")
@login_required
def end_member_sessions(structure_id, membership_id):
    structure = _managed_structure(structure_id)
    db = get_session()
    membership = _membership_of(db, structure, membership_id)
    if not permissions.can_end_sessions(current_user(), membership.user):
        abort(403, description="Seule l'équipe du SPIE (administrateurs du service) ferme les sessions d'une autre personne.")
    set_actor(db, f"user:{current_user().id}")
    ended = user_sessions.end_all_sessions(db, membership.user_id)
    db.commit()
    log.info("user:%s ended the %d sessions of user:%s", current_user().id, ended, membership.user_id)
    flash(f"Sessions de {membership.user.email} fermées ({ended}) : la personne devra se reconnecter.", "success")
    return _to_members(structure, "#membres"), 303


# ---------------------------------------------------------------- invitations


def _send_invitation(structure: Structure, invitation: Invitation) -> bool:
    inviter = current_user()
    link = auth.absolute("members.invitation", token=auth.invitation_token(invitation))
    return auth.mail(
        invitation.email,
        f"Invitation à rejoindre {structure.nom} — {auth.settings().site_name}",
        f"Bonjour,\n\n{inviter.nom or inviter.email} vous invite à rejoindre la structure « {structure.nom} » "
        f"sur {auth.settings().site_name}, en tant que {auth.role_label(invitation.role)}, pour publier et "
        f"mettre à jour ses offres.\n\nPour accepter, ouvrez ce lien (valable 14 jours) :\n\n{link}\n\n"
        "Si vous n'attendiez pas cette invitation, ignorez ce message.\n",
    )


@bp.post("/espace/structures/<structure_id>/invitations")
@login_required
def invite(structure_id):
    structure = _managed_structure(structure_id)
    db = get_session()
    email = auth.normalise_email(request.form.get("email"))
    role = _role_or_none(request.form.get("role"))
    errors = {}
    if error := auth.email_error(email):
        errors["email"] = error
    if role is None:
        errors["role"] = "Rôle : choisissez « membre » ou « administrateur de la structure »."
    if not errors:
        if members_q.is_member_email(db, structure.id, email):
            errors["email"] = "Adresse électronique : cette personne est déjà membre de la structure."
    if errors:
        form = {"email": email, "role": request.form.get("role") or ""}
        return _members_page(structure, 400, invite_form=form, errors=errors)
    set_actor(db, f"user:{current_user().id}")
    invitation = members_q.open_invitation(db, structure.id, email)
    if invitation is None:
        invitation = Invitation(structure_id=structure.id, email=email, role=role, invited_by_id=current_user().id)
        db.add(invitation)
    else:
        invitation.role = role
        invitation.invited_by_id = current_user().id
    db.commit()
    if _send_invitation(structure, invitation):
        flash(f"Invitation envoyée à {email}.", "success")
    else:
        flash(
            f"Invitation enregistrée pour {email}, mais le courriel n'a pas pu partir. Réessayez avec « Renvoyer ».",
            "warning",
        )
    return _to_members(structure, "#invitations"), 303


def _pending_invitation(db, structure: Structure, invitation_id: int) -> Invitation:
    invitation = db.get(Invitation, invitation_id)
    if invitation is None or invitation.structure_id != structure.id or invitation.accepted_at is not None:
        abort(404)
    return invitation


@bp.post("/espace/structures/<structure_id>/invitations/<int:invitation_id>/renvoyer")
@login_required
def resend_invitation(structure_id, invitation_id):
    structure = _managed_structure(structure_id)
    invitation = _pending_invitation(get_session(), structure, invitation_id)
    if _send_invitation(structure, invitation):
        flash(f"Invitation renvoyée à {invitation.email}.", "success")
    else:
        flash("Le courriel n'a pas pu partir ; réessayez plus tard.", "warning")
    return _to_members(structure, "#invitations"), 303


@bp.post("/espace/structures/<structure_id>/invitations/<int:invitation_id>/annuler")
@login_required
def cancel_invitation(structure_id, invitation_id):
    structure = _managed_structure(structure_id)
    db = get_session()
    invitation = _pending_invitation(db, structure, invitation_id)
    email = invitation.email
    set_actor(db, f"user:{current_user().id}")
    db.delete(invitation)  # its link stops working
    db.commit()
    flash(f"Invitation de {email} annulée : son lien ne fonctionne plus.", "success")
    return _to_members(structure, "#invitations"), 303


def _invitation_from_token(db, token: str) -> tuple[Invitation, Structure]:
    payload = auth.read_token("invitation", token, auth.INVITATION_MAX_AGE)
    invitation = db.get(Invitation, payload.get("inv")) if isinstance(payload.get("inv"), int) else None
    if invitation is None or invitation.email != payload.get("email"):
        raise auth.LinkError("Cette invitation n'existe plus (elle a peut-être été annulée).")
    if invitation.accepted_at is not None:
        raise auth.LinkError("Cette invitation a déjà été acceptée. Connectez-vous pour accéder à la structure.")
    return invitation, db.get(Structure, invitation.structure_id)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token):
    db = get_session()
    try:
        invitation, structure = _invitation_from_token(db, token)
    except auth.LinkError as exc:
        return render_template("account/link_error.html", message=str(exc)), 400
    user = current_user()
    account = members_q.user_by_email(db, invitation.email)
    context = {"invitation": invitation, "structure": structure, "token": token, "account": account, "errors": {}, "nom": ""}
    if user is not None and user.email != invitation.email:
        return render_template("account/invitation.html", wrong_user=user, **context), 403
    if request.method == "GET":
        return render_template("account/invitation.html", **context)
    if user is not None:
        members_q.accept_invitation(db, invitation, user)
        db.commit()
    elif account is not None:
        # An existing account logs in first, then comes back here.
        return redirect(url_for("auth.login", next=url_for("members.invitation", token=token)))
    else:
        nom = (request.form.get("nom") or "").strip()
        password = request.form.get("password") or ""
        errors = auth.password_errors(password, request.form.get("password_confirm") or "")
        if len(nom) > auth.NOM_MAX:
            errors["nom"] = f"Prénom et nom : {auth.NOM_MAX} caractères au plus."
        if errors:
            context.update(errors=errors, nom=nom)
            return render_template("account/invitation.html", **context), 400
        set_actor(db, "invitation")
        user = User(
            email=invitation.email,
            nom=nom or None,
            password_hash=auth.hash_password(password),
            email_verified_at=datetime.now(UTC),
        )
        db.add(user)
        db.flush()
        members_q.accept_invitation(db, invitation, user)
        auth.start_session(user)
        db.commit()
    flash(f"Bienvenue : vous êtes {auth.role_label(invitation.role)} de « {structure.nom} ».", "success")
    return redirect(url_for("auth.espace"))


# ---------------------------------------------------------------- join requests


@bp.get("/espace/rejoindre")
@login_required
def join():
    db = get_session()
    query = (request.args.get("q") or "").strip()
    error = None
    results = None
    if "q" in request.args:
        if len(query) < 3:
            error = "Nom ou SIRET : saisissez 3 caractères au moins."
        elif len(query) > 200:
            error = "Nom ou SIRET : 200 caractères au plus."
        else:
            results = members_q.search_structures(db, query)
    user = current_user()
    mine = members_q.structures_of(db, user.id)
    asked = members_q.structures_asked(db, user.id)
    return render_template(
        "account/join.html", q=query, results=results, error=error, mine=mine, asked=asked
    ), (400 if error else 200)


@bp.post("/espace/rejoindre/<structure_id>")
@login_required
def request_to_join(structure_id):
    db = get_session()
    structure = _structure_or_404(db, structure_id)
    if structure.status == Status.ARCHIVE:
        abort(404)
    user = current_user()
    message = (request.form.get("message") or "").strip()
    back = redirect(url_for("members.join", q=request.form.get("q") or structure.nom)), 303
    if len(message) > MESSAGE_MAX:
        flash(f"Message : {MESSAGE_MAX} caractères au plus.", "error")
        return back
    if permissions.role_in(db, user, structure.id) is not None:
        flash(f"Vous êtes déjà membre de « {structure.nom} ».", "error")
        return back
    if members_q.has_pending_request(db, user.id, structure.id):
        flash(f"Votre demande pour « {structure.nom} » est déjà en attente.", "error")
        return back
    set_actor(db, f"user:{user.id}")
    db.add(JoinRequest(structure_id=structure.id, user_id=user.id, message=message or None))
    db.commit()
    admins = [a.email for a in _admins_of(db, structure.id)]
    recipients = admins or [auth.settings().contact_email]
    link = auth.absolute("members.members", structure_id=structure.id)
    auth.mail(
        recipients,
        f"Demande pour rejoindre {structure.nom}",
        f"Bonjour,\n\n{user.nom or user.email} ({user.email}) demande à rejoindre la structure "
        f"« {structure.nom} ».\n\nMessage : {message or '(aucun)'}\n\nPour accepter ou refuser : {link}\n",
    )
    flash(
        f"Demande envoyée : un administrateur de « {structure.nom} » ou un modérateur vous répondra par courriel.",
        "success",
    )
    return redirect(url_for("auth.espace")), 303


def _pending_request(db, structure: Structure, request_id: int) -> JoinRequest:
    join_request = db.get(JoinRequest, request_id)
    if join_request is None or join_request.structure_id != structure.id:
        abort(404)
    return join_request


@bp.post("/espace/structures/<structure_id>/demandes/<int:request_id>/<decision>")
@login_required
def decide(structure_id, request_id, decision):
    if decision not in ("accepter", "refuser"):
        abort(404)
    structure = _managed_structure(structure_id)
    db = get_session()
    join_request = _pending_request(db, structure, request_id)
    if join_request.status != "en_attente":
        flash("Cette demande a déjà été traitée.", "error")
        return _to_members(structure, "#demandes"), 303
    applicant = db.get(User, join_request.user_id)
    actor = current_user()
    set_actor(db, f"user:{actor.id}")
    join_request.decided_at = datetime.now(UTC)
    join_request.decided_by_id = actor.id
    if decision == "accepter":
        role = _role_or_none(request.form.get("role")) or Role.MEMBRE
        join_request.status = "acceptee"
        if permissions.role_in(db, applicant, structure.id) is None:
            db.add(Membership(user_id=applicant.id, structure_id=structure.id, role=role))
        answer = f"Votre demande est acceptée : vous êtes {auth.role_label(role)} de « {structure.nom} »."
        done = f"{applicant.email} a rejoint la structure."
    else:
        join_request.status = "refusee"
        answer = f"Votre demande pour rejoindre « {structure.nom} » a été refusée."
        done = f"Demande de {applicant.email} refusée."
    db.commit()
    auth.mail(
        applicant.email,
        f"Votre demande pour rejoindre {structure.nom}",
        f"Bonjour,\n\n{answer}\n\nVotre espace : {auth.absolute('auth.espace')}\n",
    )
    flash(done, "success")
    return _to_members(structure, "#demandes"), 303
