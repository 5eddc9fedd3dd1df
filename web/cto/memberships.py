"""Who has the CTO: the accesses given by territory or by committee (administrators;
moderators for the territories of their scope)."""

from __future__ import annotations

import re
import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from catalogue import cto, cto_queries, members, permissions
from catalogue.cto import CtoMembership
from catalogue.errors import ValidationError
from geo import territories
from web.access import cto_required, current_user
from web.cto import common
from web.cto.common import bp
from web.db import get_session

# ------------------------------------------------------------------- CTO memberships

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def _access_page(session, errors: dict | None = None, form=None, status=200):
    user = current_user()
    covered = permissions.moderated_territories(session, user)
    names = territories.territory_names(session)
    listed = [(slug, nom) for slug, nom in names if covered is None or slug in covered]
    slugs = [slug for slug, _ in listed]
    committees = cto_queries.committees_on(session, slugs, common.today())
    rows = cto_queries.memberships_on(session, slugs)
    return render_template("cto/access.html", territories=listed, names=dict(names),
                           committees=committees, rows=rows, errors=errors or {}, form=form or MultiDict()), status


def _manage_access_required():
    if not permissions.can_manage_cto_access(get_session(), current_user()):
        abort(403, description="Les accès au CTO sont donnés par les administrateurs du service et les "
                               "modérateurs, pour leur territoire.")


@bp.get("/cto/acces")
@cto_required
def access():
    """Who has the CTO, and the form that gives it (administrators; moderators for
    the territories of their scope)."""
    _manage_access_required()
    return _access_page(get_session())


@bp.post("/cto/acces")
@cto_required
def access_grant():
    _manage_access_required()
    session = get_session()
    user = current_user()
    email = (request.form.get("courriel") or "").strip().lower()
    slug = (request.form.get("territoire") or "").strip()
    raw_committee = (request.form.get("comite") or "").strip()
    errors = {}
    if not email or len(email) > 320 or not _EMAIL.match(email) or not email.isprintable():
        errors["courriel"] = "Courriel : adresse invalide (exemple : nom@domaine.fr)."
    if bool(slug) == bool(raw_committee):
        errors["perimetre"] = "Accès : choisissez un territoire ou un comité (l'un des deux)."
    if errors:
        return _access_page(session, errors, request.form, 400)
    person = members.user_by_email(session, email)
    if person is None or not person.is_active:
        return _access_page(session, {"courriel": f"Courriel : aucun compte actif n'a l'adresse « {email} » ; la "
                                                  "personne crée d'abord son compte (Inscription)."}, request.form, 400)
    committee = None
    if raw_committee:
        try:
            committee = cto_queries.committee_by_public_id(session, uuid.UUID(raw_committee))
        except ValueError:
            committee = None
        if committee is None:
            return _access_page(session, {"comite": "Comité : choisissez un comité de la liste."}, request.form, 400)
        slug_of_scope = committee.territory_slug
    else:
        if not common.SLUG.match(slug):
            return _access_page(session, {"territoire": "Territoire : choisissez un territoire de la liste."},
                                request.form, 400)
        slug_of_scope = slug
    if not permissions.can_grant_cto(session, user, slug_of_scope):
        abort(403, description="Ce territoire ne relève pas de votre périmètre de modération.")
    try:
        cto.grant(session, person.id, territory_slug=None if committee else slug, committee=committee,
                  granted_by_id=user.id)
    except ValidationError as exc:
        session.rollback()
        return _access_page(session, {k: m for k, m in zip(exc.errors, common.errors_of(exc), strict=False)},
                            request.form, 400)
    session.commit()
    flash(f"Accès au CTO donné à {email}.", "success")
    return redirect(url_for("cto.access")), 303


@bp.post("/cto/acces/<uuid:membership_id>/retirer")
@cto_required
def access_revoke(membership_id):
    _manage_access_required()
    session = get_session()
    found = session.get(CtoMembership, membership_id)
    if found is None:
        abort(404)
    if not permissions.can_revoke_cto(session, current_user(), found):
        abort(403, description="Ce territoire ne relève pas de votre périmètre de modération.")
    session.delete(found)
    session.commit()
    flash("Accès au CTO retiré.", "success")
    return redirect(url_for("cto.access")), 303


