"""Pages of the CTO (/cto/…: its members and the SPIE team) and of the steering
(/pilotage/…: the SPIE team and the CTO members). Who may read or write what is
catalogue.permissions' question; a refused person gets an HTML page (403) that
says who to ask. Committees and situations are reached by a random public id,
shortlists by an unguessable token. Every page works without JavaScript; every
map has its table; every form carries its CSRF token.

This module: the home page, the levers and the shortlists. The committees
(web.cto.committees), the CTO accesses (web.cto.memberships) and the steering
(web.cto.steering) are their own modules, on the same blueprint (web.cto.common).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from catalogue import cto, permissions, vocabulary
from catalogue import levers as lever_rules
from catalogue.cto import Shortlist
from catalogue.errors import ValidationError
from search.errors import InvalidQuery, SearchUnavailable
from web.access import cto_required, current_user

# committees, memberships, steering: the CTO's other pages; importing them adds
# their routes to the blueprint.
from web.cto import committees, common, levers, memberships, searchlog, steering, views  # noqa: F401
from web.cto.common import bp
from web.db import get_session

# ------------------------------------------------------------------- home

@bp.get("/cto")
@cto_required
def home():
    session = get_session()
    user = current_user()
    return render_template(
        "cto/home.html",
        can_steer=permissions.can_see_steering(session, user),
        can_manage_access=permissions.can_manage_cto_access(session, user),
        mine=common.my_shortlists(session),
        committees=common.upcoming_committees(session),
    )


# ------------------------------------------------------------------- levers

def _lever_form(form: MultiDict | None = None, errors: dict | None = None, status: int = 200):
    form = form or MultiDict()
    return render_template(
        "cto/levers_form.html",
        form=form,
        errors=errors or {},
        groups=views.thematique_options(),
        publics=vocabulary.publics(),
        days=lever_rules.DAYS,
        default_days=cto.DEFAULT_SHORTLIST_DAYS,
        max_days=cto.MAX_SHORTLIST_DAYS,
    ), status


@bp.get("/cto/leviers")
@cto_required
def levers_form():
    return _lever_form()


@bp.post("/cto/leviers")
@cto_required
def levers_find():
    session = get_session()
    settings = common.settings()
    situation, errors = levers.parse(session, request.form, settings.departement_code)
    days = None
    if situation is not None:
        try:
            days = cto.check_days(situation.keep_days)
        except ValidationError as exc:
            errors = {"duree": common.errors_of(exc)[0]}
    if errors:
        return _lever_form(request.form, errors, 400)
    try:
        found = levers.find(session, situation, settings.default_radius_km, common.today())
    except InvalidQuery as exc:
        return _lever_form(request.form, {exc.field: f"{exc.field} : {exc.message}"}, 400)
    except SearchUnavailable:
        return render_template("error.html", code=503, title="Recherche momentanément indisponible",
                               message="Le moteur de recherche ne répond pas. Réessayez dans quelques instants."), 503
    constraints = situation.constraints()
    constraints["rayon_km_utilise"] = situation.max_km or settings.default_radius_km
    constraints["totaux"] = {b.code: b.total for b in found}
    constraints["fermees_les_jours"] = {b.code: b.closed_on_days for b in found}
    constraints["proximite"] = {b.code: len(b.on_site) for b in found}
    constraints["ecartees"] = {b.code: b.excluded for b in found}
    try:
        shortlist = cto.save_shortlist(
            session,
            code_commune=situation.code_commune,
            publics=situation.publics,
            barriers=situation.barriers,
            constraints=constraints,
            remarks=situation.remarks,
            results={b.code: b.ids for b in found},
            days=days,
            user_id=current_user().id,
            now=common.now(),
        )
    except ValidationError as exc:
        session.rollback()
        return _lever_form(request.form, {"remarques": common.errors_of(exc)[0]}, 400)
    session.commit()
    flash(f"Liste enregistrée jusqu'au {shortlist.expires_at.astimezone(common.PARIS):%d/%m/%Y}, puis supprimée.", "success")
    return redirect(url_for("cto.shortlist", token=shortlist.token))


def _share_url(shortlist: Shortlist) -> str | None:
    if not shortlist.share_token:
        return None
    return common.settings().base_url.rstrip("/") + url_for("cto.shared", share_token=shortlist.share_token)


def _shortlist_page(session, found: Shortlist, *, shared: bool = False):
    view = views.shortlist_view(session, found, common.today())
    can_edit = not shared and permissions.can_edit_shortlist(current_user(), found)
    pdf_url = (url_for("cto.shared_pdf", share_token=found.share_token) if shared
               else url_for("cto.shortlist_pdf", token=found.token))
    return render_template("cto/shortlist.html", **view, can_edit=can_edit, shared=shared, pdf_url=pdf_url,
                           share_url=_share_url(found) if can_edit else None,
                           committees=common.upcoming_committees(session) if can_edit else [])


def _shortlist_pdf(session, found: Shortlist):
    view = views.shortlist_view(session, found, common.today())
    html = render_template("cto/pdf_shortlist.html", lists=[view], title="Leviers pour une situation",
                           generated=f"Document du {common.now():%d/%m/%Y à %H:%M}")
    return common.pdf(html, f"leviers-{common.today():%Y-%m-%d}.pdf")


@bp.get("/cto/listes/<token>")
@cto_required
def shortlist(token):
    session = get_session()
    return _shortlist_page(session, common.shortlist_or_404(session, token))


@bp.get("/cto/listes/<token>.pdf")
@cto_required
def shortlist_pdf(token):
    session = get_session()
    return _shortlist_pdf(session, common.shortlist_or_404(session, token))


def _shared_or_404(session, share_token: str) -> Shortlist:
    found = cto.shared_shortlist(session, share_token, common.now())
    if found is None:
        abort(404)
    return found


@bp.get("/cto/partage/<share_token>")
@cto_required
def shared(share_token):
    """A list its owner chose to share: read only, for any member of the CTO."""
    session = get_session()
    return _shortlist_page(session, _shared_or_404(session, share_token), shared=True)


@bp.get("/cto/partage/<share_token>.pdf")
@cto_required
def shared_pdf(share_token):
    session = get_session()
    return _shortlist_pdf(session, _shared_or_404(session, share_token))


@bp.post("/cto/listes/<token>/partage")
@cto_required
def shortlist_share(token):
    """Share the list (a link of its own), or stop sharing it (the link dies)."""
    session = get_session()
    found = common.editable_shortlist(session, token, "Seule la personne qui a enregistré cette liste peut la partager.")
    action = request.form.get("action", "")
    if action == "partager":
        cto.share(found)
        message = "Lien de partage créé : toute personne membre du CTO qui le reçoit peut lire la liste."
    elif action == "arreter":
        cto.unshare(found)
        message = "Partage arrêté : l'ancien lien n'ouvre plus la liste."
    else:
        abort(400, description="action : « partager » ou « arreter » attendu.")
    session.commit()
    flash(message, "success")
    return redirect(url_for("cto.shortlist", token=token) + "#titre-partage"), 303


@bp.post("/cto/listes/<token>/notes")
@cto_required
def shortlist_note(token):
    session = get_session()
    found = common.editable_shortlist(session, token, "Seule la personne qui a enregistré la liste peut l'annoter.")
    service_id = request.form.get("offre", "")
    try:
        cto.annotate(found, service_id, request.form.get("note", ""))
    except ValidationError as exc:
        for message in common.errors_of(exc):
            flash(message, "error")
        return redirect(url_for("cto.shortlist", token=token)), 303
    session.commit()
    flash("Note enregistrée.", "success")
    return redirect(url_for("cto.shortlist", token=token) + f"#offre-{service_id}"), 303


@bp.post("/cto/listes/<token>/supprimer")
@cto_required
def shortlist_delete(token):
    session = get_session()
    found = common.editable_shortlist(session, token, "Seule la personne qui a enregistré la liste peut la supprimer.")
    session.delete(found)
    session.commit()
    flash("Liste supprimée.", "success")
    return redirect(url_for("cto.home")), 303


def init_app(app) -> None:
    searchlog.install(app)
