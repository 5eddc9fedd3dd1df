"""Pages of the CTO (/cto/…: its members and the SPIE team) and of the steering
(/pilotage/…: the SPIE team and the CTO members). Who may read or write what is
catalogue.permissions' question; a refused person gets an HTML page (403) that
says who to ask. Committees and situations are reached by a random public id,
shortlists by an unguessable token. Every page works without JavaScript; every
map has its table; every form carries its CSRF token."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select, text
from werkzeug.datastructures import MultiDict

from catalogue import coverage, cto, permissions, steering, vocabulary
from catalogue.accounts import User
from catalogue.cto import Committee, CtoMembership, Shortlist, Situation
from catalogue.errors import ValidationError
from catalogue.schemas import parse_int
from search.errors import InvalidQuery, SearchUnavailable
from web import maps
from web.access import cto_required, current_user, steering_required
from web.cto import charts, choropleth, levers, searchlog, views
from web.db import get_session

bp = Blueprint("cto", __name__)


@bp.errorhandler(403)
def forbidden(exc):
    """Always an HTML page (never JSON), saying who to ask."""
    message = exc.description if exc.description and "permission" not in exc.description else (
        "Cette page est réservée aux membres du comité technique (CTO) et à l'équipe du SPIE.")
    return render_template("cto/forbidden.html", message=message, contact=_settings().contact_email), 403

PARIS = ZoneInfo("Europe/Paris")
_DEPARTEMENT = re.compile(r"^(\d{2}|2[AB]|97\d)$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
DEFAULT_WEEKS = 12


def _settings():
    return current_app.extensions["offre"]["settings"]


def _now() -> datetime:
    return datetime.now(PARIS)


def _today() -> date:
    return _now().date()


def _errors_of(exc: ValidationError) -> list[str]:
    names = {"reference": "Référence interne", "situation": "Situation", "territoire": "Territoire",
             "date": "Date", "duree": "Durée de conservation", "remarques": "Remarques", "note": "Note",
             "offre": "Offre", "perimetre": "Accès", "comite": "Comité", "courriel": "Courriel"}
    return [f"{names.get(k, k)} : {m}" for k, msgs in exc.errors.items() for m in msgs]


def _pdf(html: str, filename: str):
    from weasyprint import HTML

    response = current_app.response_class(HTML(string=html, base_url=request.host_url).write_pdf(),
                                          mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv(data: bytes, filename: str):
    response = current_app.response_class(data, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
        mine=_my_shortlists(session),
        committees=_upcoming_committees(session),
    )


def _my_shortlists(session) -> list[Shortlist]:
    return list(
        session.scalars(
            select(Shortlist)
            .where(Shortlist.created_by_id == current_user().id, Shortlist.expires_at > _now())
            .order_by(Shortlist.created_at.desc())
            .limit(100)
        )
    )


def _upcoming_committees(session) -> list[Committee]:
    """The coming committees the user may read (and write)."""
    return list(
        session.scalars(
            select(Committee)
            .where(Committee.date >= _today(), permissions.readable_committees(current_user()))
            .order_by(Committee.date, Committee.id).limit(100)
        )
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
        days=levers.DAYS,
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
    settings = _settings()
    situation, errors = levers.parse(session, request.form, settings.departement_code)
    days = None
    if situation is not None:
        try:
            days = cto.check_days(situation.keep_days)
        except ValidationError as exc:
            errors = {"duree": _errors_of(exc)[0]}
    if errors:
        return _lever_form(request.form, errors, 400)
    try:
        found = levers.find(session, situation, settings.default_radius_km, _today())
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
            now=_now(),
        )
    except ValidationError as exc:
        session.rollback()
        return _lever_form(request.form, {"remarques": _errors_of(exc)[0]}, 400)
    session.commit()
    flash(f"Liste enregistrée jusqu'au {shortlist.expires_at.astimezone(PARIS):%d/%m/%Y}, puis supprimée.", "success")
    return redirect(url_for("cto.shortlist", token=shortlist.token))


NOT_YOUR_LIST = "Seule la personne qui a enregistré cette liste peut la modifier."


def _shortlist_or_404(session, token: str) -> Shortlist:
    """The list of the owner's link, for those who may read it (its creator, the
    members of a committee that has it on its agenda); 404 for anybody else, as
    for an unknown link."""
    found = cto.live_shortlist(session, token, _now())
    if found is None or not permissions.can_read_shortlist(session, current_user(), found):
        abort(404)
    return found


def _editable_shortlist(session, token: str, refused: str = NOT_YOUR_LIST) -> Shortlist:
    found = _shortlist_or_404(session, token)
    if not permissions.can_edit_shortlist(current_user(), found):
        abort(403, description=refused)
    return found


def _share_url(shortlist: Shortlist) -> str | None:
    if not shortlist.share_token:
        return None
    return _settings().base_url.rstrip("/") + url_for("cto.shared", share_token=shortlist.share_token)


def _shortlist_page(session, found: Shortlist, *, shared: bool = False):
    view = views.shortlist_view(session, found, _today())
    can_edit = not shared and permissions.can_edit_shortlist(current_user(), found)
    pdf_url = (url_for("cto.shared_pdf", share_token=found.share_token) if shared
               else url_for("cto.shortlist_pdf", token=found.token))
    return render_template("cto/shortlist.html", **view, can_edit=can_edit, shared=shared, pdf_url=pdf_url,
                           share_url=_share_url(found) if can_edit else None,
                           committees=_upcoming_committees(session) if can_edit else [])


def _shortlist_pdf(session, found: Shortlist):
    view = views.shortlist_view(session, found, _today())
    html = render_template("cto/pdf_shortlist.html", lists=[view], title="Leviers pour une situation",
                           generated=f"Document du {_now():%d/%m/%Y à %H:%M}")
    return _pdf(html, f"leviers-{_today():%Y-%m-%d}.pdf")


@bp.get("/cto/listes/<token>")
@cto_required
def shortlist(token):
    session = get_session()
    return _shortlist_page(session, _shortlist_or_404(session, token))


@bp.get("/cto/listes/<token>.pdf")
@cto_required
def shortlist_pdf(token):
    session = get_session()
    return _shortlist_pdf(session, _shortlist_or_404(session, token))


def _shared_or_404(session, share_token: str) -> Shortlist:
    found = cto.shared_shortlist(session, share_token, _now())
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
    found = _editable_shortlist(session, token, "Seule la personne qui a enregistré cette liste peut la partager.")
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
    found = _editable_shortlist(session, token, "Seule la personne qui a enregistré la liste peut l'annoter.")
    service_id = request.form.get("offre", "")
    try:
        cto.annotate(found, service_id, request.form.get("note", ""))
    except ValidationError as exc:
        for message in _errors_of(exc):
            flash(message, "error")
        return redirect(url_for("cto.shortlist", token=token)), 303
    session.commit()
    flash("Note enregistrée.", "success")
    return redirect(url_for("cto.shortlist", token=token) + f"#offre-{service_id}"), 303


@bp.post("/cto/listes/<token>/supprimer")
@cto_required
def shortlist_delete(token):
    session = get_session()
    found = _editable_shortlist(session, token, "Seule la personne qui a enregistré la liste peut la supprimer.")
    session.delete(found)
    session.commit()
    flash("Liste supprimée.", "success")
    return redirect(url_for("cto.home")), 303


# ------------------------------------------------------------------- committees

def _territories(session) -> list:
    return session.execute(text("SELECT slug, nom FROM geo_territory ORDER BY nom")).all()


def _creatable_territories(session) -> list:
    user = current_user()
    return [t for t in _territories(session) if permissions.can_create_committee(session, user, t.slug)]


@bp.get("/cto/comites")
@cto_required
def committees():
    session = get_session()
    return _committees_page(session, {}, MultiDict())


def _committees_page(session, errors, form, status=200):
    names = dict(_territories(session))
    rows = _upcoming_committees(session)
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
    if slug and not _SLUG.match(slug):
        return _committees_page(session, {"territoire": "Territoire : choisissez un territoire de la liste."},
                                request.form, 400)
    known = dict(_territories(session))
    if slug in known and not permissions.can_create_committee(session, current_user(), slug):
        abort(403, description="Seuls l'équipe du SPIE, les modérateurs du territoire et les membres du CTO de "
                               "ce territoire créent ses comités.")
    try:
        committee = cto.create_committee(session, slug, day, current_user().id, today=_today())
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
    found = session.scalar(select(Committee).where(Committee.public_id == committee_id))
    if found is None:
        abort(404)
    if not permissions.can_read_committee(session, current_user(), found):
        abort(403, description="Ce comité est réservé à ses membres. Demandez l'accès à l'équipe du SPIE "
                               "ou au modérateur de votre territoire.")
    return found


def _committee_page(session, committee: Committee, errors: list[str] | None = None, form=None, status=200):
    territory = session.scalar(text("SELECT nom FROM geo_territory WHERE slug = :s"), {"s": committee.territory_slug})
    user = current_user()
    return render_template(
        "cto/committee.html",
        committee=committee,
        territory=territory or committee.territory_slug,
        mine=_my_shortlists(session),
        errors=errors or [],
        form=form or MultiDict(),
        max_situations=cto.MAX_SITUATIONS,
        full=len(committee.situations) >= cto.MAX_SITUATIONS,
        closed=_today() > committee.agenda_deadline,
        now=_now(),
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
    found = cto.live_shortlist(session, token, _now())
    if found is not None and permissions.can_edit_shortlist(current_user(), found):
        return found
    return cto.shared_shortlist(session, token, _now())


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
                          today=_today())
    except ValidationError as exc:
        session.rollback()
        found = _committee_or_404(session, committee_id)
        return _committee_page(session, found, _errors_of(exc), request.form, 400)
    session.commit()
    flash("Situation ajoutée à l'ordre du jour.", "success")
    return redirect(url_for("cto.committee", committee_id=committee_id)), 303


@bp.post("/cto/listes/<token>/comite")
@cto_required
def situation_add_from_list(token):
    """Puts the situation of a shortlist on the agenda of a committee the user
    belongs to."""
    session = get_session()
    listed = _editable_shortlist(session, token, "Seule la personne qui a enregistré la liste peut l'inscrire à un comité.")
    raw = (request.form.get("comite") or "").strip()
    try:
        public_id = uuid.UUID(raw)
    except ValueError:
        public_id = None
    found = session.scalar(select(Committee).where(Committee.public_id == public_id)) if public_id else None
    if found is None or not permissions.can_read_committee(session, current_user(), found):
        flash("Comité : choisissez un de vos comités dans la liste.", "error")
        return redirect(url_for("cto.shortlist", token=token)), 303
    try:
        cto.add_situation(session, found, request.form.get("reference", ""), listed.id, current_user().id,
                          today=_today())
    except ValidationError as exc:
        session.rollback()
        for message in _errors_of(exc):
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
    found = session.scalar(select(Situation).where(Situation.public_id == situation_id,
                                                   Situation.committee_id == committee.id))
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
    territory = session.scalar(text("SELECT nom FROM geo_territory WHERE slug = :s"), {"s": found.territory_slug})
    lists = []
    for situation in found.situations:
        sl = situation.shortlist
        view = views.shortlist_view(session, sl, _today()) if sl is not None and sl.expires_at > _now() else None
        lists.append({"situation": situation, "view": view})
    html = render_template("cto/pdf_agenda.html", committee=found, territory=territory or found.territory_slug,
                           situations=lists, generated=f"Document du {_now():%d/%m/%Y à %H:%M}")
    return _pdf(html, f"cto-{found.date:%Y-%m-%d}-ordre-du-jour.pdf")


# ------------------------------------------------------------------- CTO memberships

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def _access_page(session, errors: dict | None = None, form=None, status=200):
    user = current_user()
    covered = permissions.moderated_territories(session, user)
    territories = [t for t in _territories(session) if covered is None or t.slug in covered]
    slugs = [t.slug for t in territories]
    committees = list(session.scalars(
        select(Committee).where(Committee.territory_slug.in_(slugs), Committee.date >= _today())
        .order_by(Committee.date, Committee.id).limit(500)
    ))
    rows = session.execute(
        select(CtoMembership, User, Committee)
        .join(User, User.id == CtoMembership.user_id)
        .outerjoin(Committee, Committee.id == CtoMembership.committee_id)
        .where((CtoMembership.territory_slug.in_(slugs)) | (Committee.territory_slug.in_(slugs)))
        .order_by(User.email, CtoMembership.created_at)
    ).all()
    return render_template("cto/access.html", territories=territories, names=dict(_territories(session)),
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
    person = session.scalar(select(User).where(User.email == email))
    if person is None or not person.is_active:
        return _access_page(session, {"courriel": f"Courriel : aucun compte actif n'a l'adresse « {email} » ; la "
                                                  "personne crée d'abord son compte (Inscription)."}, request.form, 400)
    committee = None
    if raw_committee:
        try:
            committee = session.scalar(select(Committee).where(Committee.public_id == uuid.UUID(raw_committee)))
        except ValueError:
            committee = None
        if committee is None:
            return _access_page(session, {"comite": "Comité : choisissez un comité de la liste."}, request.form, 400)
        slug_of_scope = committee.territory_slug
    else:
        if not _SLUG.match(slug):
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
        return _access_page(session, {k: m for k, m in zip(exc.errors, _errors_of(exc), strict=False)},
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
    slug = found.territory_slug or found.committee.territory_slug
    if not permissions.can_grant_cto(session, current_user(), slug):
        abort(403, description="Ce territoire ne relève pas de votre périmètre de modération.")
    session.delete(found)
    session.commit()
    flash("Accès au CTO retiré.", "success")
    return redirect(url_for("cto.access")), 303


# ------------------------------------------------------------------- coverage

def _area(session, args) -> tuple[str, str, list[str]] | tuple[None, str, None]:
    """(key, label, communes) of the area asked (?territoire=slug or
    ?departement=02), or (None, error message, None)."""
    slug = (args.get("territoire") or "").strip()
    dep = (args.get("departement") or "").strip().upper()
    if slug:
        if not _SLUG.match(slug):
            return None, f"territoire : identifiant invalide « {slug} »", None
        row = session.execute(text("SELECT nom, communes FROM geo_territory WHERE slug = :s"), {"s": slug}).first()
        if row is None:
            return None, f"territoire : territoire inconnu « {slug} »", None
        return f"territoire={slug}", f"Territoire : {row.nom}", list(row.communes or [])
    dep = dep or _settings().departement_code
    if not _DEPARTEMENT.match(dep):
        return None, f"departement : « {dep} » n'est pas un code de département", None
    nom = session.scalar(text("SELECT nom FROM geo_departement WHERE code = :c"), {"c": dep})
    if nom is None:
        return None, f"departement : département inconnu « {dep} »", None
    return f"departement={dep}", f"Département : {nom} ({dep})", coverage.communes_of_departement(session, dep)


def _coverage_args(session):
    args = request.args
    key, label, communes = _area(session, args)
    if key is None:
        abort(400, description=label)
    thematique = (args.get("thematique") or "mobilite").strip()
    if thematique not in levers.barrier_codes():
        abort(400, description=f"thematique : thématique inconnue « {thematique} »")
    raw = (args.get("rayon") or "30").strip()
    if parse_int(raw) not in coverage.RADII_KM:
        abort(400, description=f"rayon : {raw} km n'est pas un des rayons proposés (10, 30 ou 50 km)")
    return key, label, communes, thematique, parse_int(raw)


@bp.get("/pilotage/couverture")
@steering_required
def coverage_page():
    session = get_session()
    key, label, communes, thematique, radius = _coverage_args(session)
    result = coverage.coverage(session, communes, thematique)
    settings = _settings()
    geojson = coverage.gap_geojson(session, result, radius)
    m = maps.new_map(tiles_url=settings.tiles_url, attribution=settings.tiles_attribution,
                     label=f"Carte des communes sans offre sur place à moins de {radius} km")
    choropleth.add_choropleth(m, geojson, views.BAND_COLOURS, views.BAND_LABELS, radius)
    bands = []
    for band, band_label in views.BAND_LABELS.items():
        rows = [r for r in result.rows if r.band == band]
        bands.append({"band": band, "label": band_label, "colour": views.BAND_COLOURS[band], "communes": len(rows),
                      "population": sum(r.population for r in rows)})
    return render_template(
        "cto/coverage.html",
        area_key=key, area_label=label, thematique=thematique, thematique_label=levers.barrier_label(thematique),
        radius=radius, radii=coverage.RADII_KM, result=result, gaps=result.gaps(radius),
        summary=coverage.summary(result), bands=bands, map=maps.render(m),
        groups=views.thematique_options(), territories=_territories(session),
        departement=request.args.get("departement", ""), territoire=request.args.get("territoire", ""),
        query_string=request.query_string.decode(),
    )


def _synthesis(session, radius: int):
    dep = _settings().departement_code
    areas = {"departement=" + dep: coverage.communes_of_departement(session, dep)}
    names = {"departement=" + dep: f"Département ({dep})"}
    for slug, nom, communes in session.execute(text("SELECT slug, nom, communes FROM geo_territory ORDER BY nom")):
        areas["territoire=" + slug] = list(communes or [])
        names["territoire=" + slug] = nom
    groups = [g.code for g in vocabulary.spie_groups()]
    return names, coverage.matrix(session, areas, groups, radius)


def _radius_arg() -> int:
    raw = (request.args.get("rayon") or "30").strip()
    if parse_int(raw) not in coverage.RADII_KM:
        abort(400, description=f"rayon : {raw} km n'est pas un des rayons proposés (10, 30 ou 50 km)")
    return parse_int(raw)


@bp.get("/pilotage/couverture/synthese")
@steering_required
def coverage_synthesis():
    session = get_session()
    radius = _radius_arg()
    names, table = _synthesis(session, radius)
    return render_template("cto/coverage_synthesis.html", names=names, table=table, radius=radius,
                           radii=coverage.RADII_KM, spie=vocabulary.spie_groups())


@bp.get("/pilotage/couverture/synthese.csv")
@steering_required
def coverage_synthesis_csv():
    session = get_session()
    radius = _radius_arg()
    names, table = _synthesis(session, radius)
    rows = []
    for key, by_group in table.items():
        for g in vocabulary.spie_groups():
            cell = by_group[g.code]
            rows.append([names[key], g.label, cell["communes"], cell["gap_communes"], cell["population"],
                         cell["gap_population"]])
    data = views.rows_csv(
        f"Communes sans offre sur place à moins de {radius} km, par territoire et thématique du SPIE, au {_today():%d/%m/%Y}",
        ["Territoire", "Thématique", "Communes", "Communes sans offre sur place", "Population",
         "Population concernée"],
        rows,
    )
    return _csv(data, f"zones-blanches-{radius}km-{_today():%Y-%m-%d}.csv")


@bp.get("/pilotage/couverture.csv")
@steering_required
def coverage_csv():
    session = get_session()
    key, label, communes, thematique, _radius = _coverage_args(session)
    result = coverage.coverage(session, communes, thematique)
    data = views.coverage_csv(label, result, f"Export du {_now():%d/%m/%Y à %H:%M}")
    return _csv(data, f"couverture-{thematique}-{_today():%Y-%m-%d}.csv")


# ------------------------------------------------------------------- unmet demand

def _weeks() -> int:
    raw = (request.args.get("semaines") or str(DEFAULT_WEEKS)).strip()
    weeks = parse_int(raw)
    if weeks is None or not 1 <= weeks <= 104:
        abort(400, description=f"semaines : un nombre de semaines entre 1 et 104, reçu « {raw} »")
    return weeks


def _group_label(code: str | None) -> str:
    if code is None:
        return "Sans thématique"
    group = vocabulary.spie_group_by_code().get(code)
    return group.label if group else code


@bp.get("/pilotage/demande")
@steering_required
def demand():
    session = get_session()
    weeks = _weeks()
    since = _today() - timedelta(weeks=weeks)
    rows = cto.unmet_demand(session, since)
    for r in rows:
        r["groupe_label"] = _group_label(r["groupe"])
    weekly = cto.weekly_totals(session, since)
    chart = charts.bar_chart(
        [(f"Semaine du {w['week']:%d/%m/%Y}", w["zero"]) for w in weekly],
        title="Recherches sans résultat, par semaine", chart_id="ch-semaines",
    ) if weekly else None
    return render_template("cto/demand.html", rows=rows, weeks=weeks, low=cto.LOW_RESULTS, weekly=weekly,
                           chart=chart, top=_top(session, since), retention=_settings().search_log_retention_days)


def _top(session, since, limit=10):
    rows = cto.top_unmet(session, since, limit=limit)
    for r in rows:
        r["groupe_label"] = _group_label(r["groupe"])
    return rows


@bp.get("/pilotage/demande.csv")
@steering_required
def demand_csv():
    session = get_session()
    weeks = _weeks()
    rows = cto.unmet_demand(session, _today() - timedelta(weeks=weeks), limit=100_000)
    data = views.rows_csv(
        f"Recherches sans ou avec peu de résultats (1 à {cto.LOW_RESULTS}), {weeks} dernières semaines",
        ["Semaine du", "Thématique du SPIE", "Code INSEE", "Commune", "Recherches", "Sans résultat", "Peu de résultats",
         "Aucune réponse de proximité"],
        [[f"{r['week']:%d/%m/%Y}", _group_label(r["groupe"]), r["code_commune"] or "", r["commune"] or "non précisée",
          r["searches"], r["zero"], r["low"], r["no_nearby"]] for r in rows],
    )
    return _csv(data, f"demande-non-satisfaite-{_today():%Y-%m-%d}.csv")


# ------------------------------------------------------------------- dashboard

def _dashboard_data(session) -> dict:
    today = _today()
    groups = steering.by_group(session, today)
    return {
        "totals": steering.totals(session, today),
        "groups": groups,
        "territories": steering.by_territory(session, _settings().departement_code),
        "sources": steering.by_source(session, today),
        "duplicates": steering.duplicates(session),
        "top": _top(session, today - timedelta(weeks=DEFAULT_WEEKS)),
        "spie": vocabulary.spie_groups(),
    }


@bp.get("/pilotage")
@steering_required
def dashboard():
    session = get_session()
    data = _dashboard_data(session)
    data["charts"] = {
        "offers": charts.bar_chart([(g["label"], g["offers"]) for g in data["groups"]],
                                   title="Offres publiées par thématique du SPIE", chart_id="ch-offres"),
        "fresh": charts.bar_chart([(g["label"], g["fresh_pct"]) for g in data["groups"]],
                                  title="Part des offres à jour par thématique (%)", unit=" %", max_value=100,
                                  chart_id="ch-fraicheur"),
        "sources": charts.bar_chart([(s["source"], s["offers"]) for s in data["sources"]],
                                    title="Offres publiées par source", chart_id="ch-sources"),
    }
    data["weeks"] = DEFAULT_WEEKS
    return render_template("cto/dashboard.html", **data)


EXPORTS = ("thematiques", "territoires", "sources", "besoins")


@bp.get("/pilotage/export/<name>.csv")
@steering_required
def dashboard_csv(name):
    if name not in EXPORTS:
        abort(404)
    session = get_session()
    data = _dashboard_data(session)
    stamp = f"au {_today():%d/%m/%Y}"
    if name == "thematiques":
        body = views.rows_csv(f"Offres par thématique du SPIE {stamp}",
                              ["Thématique", "Offres publiées", "À jour", "Part à jour (%)"],
                              [[g["label"], g["offers"], g["fresh"], g["fresh_pct"]] for g in data["groups"]])
    elif name == "territoires":
        body = views.rows_csv(f"Offres par territoire et thématique du SPIE {stamp}",
                              ["Territoire", *[g.label for g in data["spie"]]],
                              [[t["nom"], *[t["by_group"][g.code] for g in data["spie"]]] for t in data["territories"]])
    elif name == "sources":
        body = views.rows_csv(f"Offres par source {stamp}",
                              ["Source", "Offres publiées", "À jour", "Part à jour (%)", "Signalées en doublon"],
                              [[s["source"], s["offers"], s["fresh"], s["fresh_pct"], s["duplicates"]]
                               for s in data["sources"]])
    else:
        body = views.rows_csv(f"Besoins non satisfaits ({DEFAULT_WEEKS} dernières semaines) {stamp}",
                              ["Thématique du SPIE", "Code INSEE", "Commune", "Recherches", "Sans résultat",
                               "Peu de résultats", "Aucune réponse de proximité"],
                              [[t["groupe_label"], t["code_commune"] or "", t["commune"] or "non précisée",
                                t["searches"], t["zero"], t["low"], t["no_nearby"]] for t in data["top"]])
    return _csv(body, f"pilotage-{name}-{_today():%Y-%m-%d}.csv")


def init_app(app) -> None:
    searchlog.install(app)
