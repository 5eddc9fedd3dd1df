"""The CTO's committees: creating one, its agenda (page and PDF), the situations
put on it and taken off it."""

from __future__ import annotations

import uuid
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from catalogue import cto, cto_queries, permissions
from catalogue.cto import Committee, Shortlist
from catalogue.errors import ValidationError
from geo import territories
from web.access import cto_required, current_user
from web.cto import common, views
from web.cto.common import bp
from web.db import get_session

# ------------------------------------------------------------------- committees

def _creatable_territories(session) -> list[tuple[str, str]]:
    user = current_user()
    return [(slug, nom) for slug, nom in territories.territory_names(session)
            if permissions.can_create_committee(session, user, slug)]


@bp.get("/cto/comites")
@cto_required
def committees():
    session = get_session()
    return _committees_page(session, {}, MultiDict())


def _committees_page(session, errors, form, status=200):
    names = dict(territories.territory_names(session))
    rows = common.upcoming_committees(session)
    return render_template("cto/committees.html", committees=rows, territories=_creatable_territories(session),
                           names=names, errors=errors, form=form, max_situations=cto.MAX_SITUATIONS), status


@bp.post("/cto/comites")
@cto_required
def committee_create():
    session = get_session()
    raw = (request.form.get("date") or "").strip()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return _committees_page(session, {"date": f"Date : date invalide « {raw} » (attendu AAAA-MM-JJ)."},
                                request.form, 400)
    slug = request.form.get("territoire", "")
    if slug and not common.SLUG.match(slug):
        return _committees_page(session, {"territoire": "Territoire : choisissez un territoire de la liste."},
                                request.form, 400)
    known = dict(territories.territory_names(session))
    if slug in known and not permissions.can_create_committee(session, current_user(), slug):
        abort(403, description="Seuls l'équipe du SPIE, les modérateurs du territoire et les membres du CTO de "
                               "ce territoire créent ses comités.")
    try:
        committee = cto.create_committee(session, slug, day, current_user().id, today=common.today())
    except ValidationError as exc:
        session.rollback()
        errors = {k: f"{'Territoire' if k == 'territoire' else 'Date'} : {v[0]}" for k, v in exc.errors.items()}
        return _committees_page(session, errors, request.form, 400)
    session.commit()
    flash("Comité créé.", "success")
    return redirect(url_for("cto.committee", committee_id=committee.public_id)), 303


def _committee_or_404(session, committee_id: uuid.UUID) -> Committee:
    """The committee of this public id, for its members and its creator; 404 if
    unknown, 403 (with whom to ask) for anybody else."""
    found = cto_queries.committee_by_public_id(session, committee_id)
    if found is None:
        abort(404)
    if not permissions.can_read_committee(session, current_user(), found):
        abort(403, description="Ce comité est réservé à ses membres. Demandez l'accès à l'équipe du SPIE "
                               "ou au modérateur de votre territoire.")
    return found


def _committee_page(session, committee: Committee, errors: list[str] | None = None, form=None, status=200):
    territory = territories.territory_name(session, committee.territory_slug)
    user = current_user()
    return render_template(
        "cto/committee.html",
        committee=committee,
        territory=territory or committee.territory_slug,
        mine=common.my_shortlists(session),
        errors=errors or [],
        form=form or MultiDict(),
        max_situations=cto.MAX_SITUATIONS,
        full=len(committee.situations) >= cto.MAX_SITUATIONS,
        closed=common.today() > committee.agenda_deadline,
        now=common.now(),
        can_remove=lambda s: permissions.can_remove_situation(session, user, s),
    ), status


@bp.get("/cto/comites/<uuid:committee_id>")
@cto_required
def committee(committee_id):
    session = get_session()
    return _committee_page(session, _committee_or_404(session, committee_id))


def _token_of(value: str) -> str:
    """A share link or its token."""
    value = (value or "").strip().rstrip("/")
    return value.rsplit("/", 1)[-1] if "/" in value else value


def _listed_shortlist(session, raw: str) -> Shortlist | None:
    """The list named in a form: one of the user's own lists, or one its owner
    shares. (Reading someone's list on a committee's agenda does not allow
    carrying it to another committee.)"""
    token = _token_of(raw)
    found = cto.live_shortlist(session, token, common.now())
    if found is not None and permissions.can_edit_shortlist(current_user(), found):
        return found
    return cto.shared_shortlist(session, token, common.now())


@bp.post("/cto/comites/<uuid:committee_id>/situations")
@cto_required
def situation_add(committee_id):
    session = get_session()
    found = _committee_or_404(session, committee_id)
    shortlist_id = None
    raw = request.form.get("liste", "").strip()
    if raw:
        listed = _listed_shortlist(session, raw)
        if listed is None:
            return _committee_page(session, found, ["Liste de leviers : lien inconnu, non partagé ou liste expirée."],
                                   request.form, 400)
        shortlist_id = listed.id
    try:
        cto.add_situation(session, found, request.form.get("reference", ""), shortlist_id, current_user().id,
                          today=common.today())
    except ValidationError as exc:
        session.rollback()
        found = _committee_or_404(session, committee_id)
        return _committee_page(session, found, common.errors_of(exc), request.form, 400)
    session.commit()
    flash("Situation ajoutée à l'ordre du jour.", "success")
    return redirect(url_for("cto.committee", committee_id=committee_id)), 303


@bp.post("/cto/listes/<token>/comite")
@cto_required
def situation_add_from_list(token):
    """Puts the situation of a shortlist on the agenda of a committee the user
    belongs to."""
    session = get_session()
    listed = common.editable_shortlist(session, token, "Seule la personne qui a enregistré la liste peut l'inscrire à un comité.")
    raw = (request.form.get("comite") or "").strip()
    try:
        public_id = uuid.UUID(raw)
    except ValueError:
        public_id = None
    found = cto_queries.committee_by_public_id(session, public_id)
    if found is None or not permissions.can_read_committee(session, current_user(), found):
        flash("Comité : choisissez un de vos comités dans la liste.", "error")
        return redirect(url_for("cto.shortlist", token=token)), 303
    try:
        cto.add_situation(session, found, request.form.get("reference", ""), listed.id, current_user().id,
                          today=common.today())
    except ValidationError as exc:
        session.rollback()
        for message in common.errors_of(exc):
            flash(message, "error")
        return redirect(url_for("cto.shortlist", token=token) + "#titre-comite"), 303
    session.commit()
    flash("Situation inscrite à l'ordre du jour.", "success")
    return redirect(url_for("cto.committee", committee_id=found.public_id)), 303


@bp.post("/cto/comites/<uuid:committee_id>/situations/<uuid:situation_id>/retirer")
@cto_required
def situation_remove(committee_id, situation_id):
    session = get_session()
    committee = _committee_or_404(session, committee_id)
    found = cto_queries.situation_of(session, committee, situation_id)
    if found is None:
        abort(404)
    if not permissions.can_remove_situation(session, current_user(), found):
        abort(403, description="Seul le référent qui l'a inscrite ou l'organisateur du comité peut retirer cette situation.")
    session.delete(found)
    session.commit()
    flash("Situation retirée de l'ordre du jour.", "success")
    return redirect(url_for("cto.committee", committee_id=committee_id)), 303


@bp.get("/cto/comites/<uuid:committee_id>/ordre-du-jour.pdf")
@cto_required
def committee_pdf(committee_id):
    session = get_session()
    found = _committee_or_404(session, committee_id)
    territory = territories.territory_name(session, found.territory_slug)
    lists = []
    for situation in found.situations:
        sl = situation.shortlist
        view = views.shortlist_view(session, sl, common.today()) if sl is not None and sl.expires_at > common.now() else None
        lists.append({"situation": situation, "view": view})
    html = render_template("cto/pdf_agenda.html", committee=found, territory=territory or found.territory_slug,
                           situations=lists, generated=f"Document du {common.now():%d/%m/%Y à %H:%M}")
    return common.pdf(html, f"cto-{found.date:%Y-%m-%d}-ordre-du-jour.pdf")


