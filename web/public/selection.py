"""A selection for the person (issue 19, point 1): on the results and service pages,
« Ajouter à ma sélection »; the page /selection shows the offers chosen with their
address, hours in words, how to ask, contacts; printed, as a PDF, by e-mail, or as a
short link (/s/<token>) valid SELECTION_LINK_DAYS days.

The selection is a list of public offer ids in the signed session cookie (the same
for visitors and accounts: nothing about the person, nothing on the server); the
owner secrets of the links one made are kept there too. Every form works without
JavaScript (POST, CSRF, redirect back); static/js/selection.js only spares the
reload. Rules: catalogue.selection and catalogue.permissions (last section)."""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, ngettext

from catalogue import permissions
from catalogue import public_queries as pq
from catalogue import selection as sel
from web import typography
from web.db import get_session
from web.mail import send_mail
from web.public import selection_words as words
from web.public import views as views

log = logging.getLogger(__name__)

bp = Blueprint("selection", __name__)

KEY = "selection"  # the offer ids, in order
LINKS_KEY = "selection_liens"  # {token: owner secret} of the links made here
MAX_LINKS_KEPT = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _settings():
    return current_app.extensions["offre"]["settings"]


def _now() -> datetime:
    return datetime.now(UTC)


def _ids() -> list:
    return sel.from_cookie(session.get(KEY), _settings().selection_max_offers)


def _save(ids: list) -> None:
    if ids:
        session[KEY] = sel.to_cookie(ids)
    else:
        session.pop(KEY, None)


def _refuse(exc: sel.SelectionError):
    """400, the field named in French (a page, or problem+json for selection.js)."""
    abort(400, description=words.error(exc))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _back() -> str:
    """Where the form came from (`retour`, a path of this site only), else /selection."""
    raw = (request.form.get("retour") or "")[:2000]
    parts = urlsplit(raw)
    if raw.startswith("/") and not raw.startswith(("//", "/\\")) and not parts.scheme and not parts.netloc:
        return raw
    return url_for("selection.page")


def _done(message: str, ids: list, service_id=None):
    if _wants_json():
        return jsonify({"message": message, "nombre": len(ids),
                        "dans_selection": service_id in ids if service_id else None})
    flash(message, "success")
    return redirect(_back(), 303)




# ------------------------------------------------------------------ template helpers

def selection_ids() -> set[str]:
    """The ids (as text) of the offers in the visitor's selection (for the buttons)."""
    return {str(i) for i in _ids()}


def selection_back(service_id: str) -> str:
    """The page a selection button returns to, at this offer (a page shown after a
    POST — a form sent back with its errors — cannot be asked again: /selection)."""
    if request.method != "GET":
        return url_for("selection.page")
    path = request.path + (f"?{request.query_string.decode('utf-8', 'replace')}" if request.query_string else "")
    return f"{path}#offre-{service_id}"


def init_app(app) -> None:
    app.jinja_env.globals["selection_ids"] = selection_ids
    app.jinja_env.globals["selection_back"] = selection_back
    app.jinja_env.globals["selection_when"] = words.when


# ------------------------------------------------------------------ the view

def items(db, ids: list) -> list[dict]:
    """The offers of the selection in words (views.service_detail), in order; an
    offer no longer public is {"id", "disponible": False}."""
    entries = sel.entries(db, ids)
    services = [e.service for e in entries if e.available]
    names = pq.zone_names(db, {c for s in services for c in (s.zone_eligibilite or [])})
    now = views.now_paris()
    out = []
    for entry in entries:
        if entry.available:
            detail = views.service_detail(entry.service, names, now)
            detail["disponible"] = True
            out.append(detail)
        else:
            out.append({"id": str(entry.id), "disponible": False})
    return out


def _my_links(db) -> list[dict]:
    """The links made from this session that still exist, newest first."""
    mine = session.get(LINKS_KEY)
    if not isinstance(mine, dict):
        return []
    out, kept = [], {}
    now = _now()
    for token, secret in list(mine.items())[-MAX_LINKS_KEPT:]:
        try:
            link = sel.find_link(db, token)
        except sel.SelectionError:
            continue
        if link is None or not permissions.can_read_selection_link(link, now):
            continue
        kept[token] = secret
        out.append({"token": token, "url": _link_url(token), "expire": link.expires_at,
                    "nombre": len(link.service_ids)})
    if kept != mine:
        session[LINKS_KEY] = kept
    return out[::-1]


def _link_url(token: str) -> str:
    return _settings().base_url.rstrip("/") + url_for("selection.shared", token=token)


def _page(ids: list, *, errors: dict | None = None, courriel: str = "", status: int = 200):
    db = get_session()
    return render_template(
        "public/selection.html", items=items(db, ids), links=_my_links(db), shared=None,
        errors=errors or {}, courriel=courriel, max_offers=_settings().selection_max_offers,
        link_days=_settings().selection_link_days, generated=_now(),
    ), status


# ------------------------------------------------------------------ the visitor's selection

@bp.get("/selection")
def page():
    return _page(_ids())


@bp.post("/selection/ajouter")
def add():
    try:
        service_id = sel.parse_id(request.form.get("offre"))
        ids = sel.add(get_session(), _ids(), service_id, _settings().selection_max_offers)
    except sel.SelectionError as exc:
        return _refuse(exc)
    _save(ids)
    return _done(ngettext("Offre ajoutée à votre sélection (%(num)s offre).",
                          "Offre ajoutée à votre sélection (%(num)s offres).", len(ids)), ids, service_id)


@bp.post("/selection/retirer")
def remove():
    try:
        service_id = sel.parse_id(request.form.get("offre"))
    except sel.SelectionError as exc:
        return _refuse(exc)
    ids = sel.remove(_ids(), service_id)
    _save(ids)
    return _done(ngettext("Offre retirée de votre sélection (%(num)s offre).",
                          "Offre retirée de votre sélection (%(num)s offres).", len(ids)), ids, service_id)


@bp.post("/selection/deplacer")
def move():
    try:
        service_id = sel.parse_id(request.form.get("offre"))
        ids = sel.move(_ids(), service_id, (request.form.get("sens") or "")[:20])
    except sel.SelectionError as exc:
        return _refuse(exc)
    _save(ids)
    return _done(gettext("Ordre de la sélection modifié."), ids, service_id)


@bp.post("/selection/vider")
def clear():
    _save([])
    return _done(gettext("Votre sélection est vide."), [])


def _pdf_response(items_: list[dict], title: str):
    from weasyprint import CSS, HTML

    if not items_:
        abort(400, description=gettext(
            "selection : la sélection est vide ; ajoutez au moins une offre avant de la télécharger."))
    html = render_template("public/selection_pdf.html", items=items_, title=title, generated=_now())
    style = CSS(filename=str(Path(current_app.static_folder) / "css" / "selection-pdf.css"))
    document = HTML(string=html, base_url=request.host_url).write_pdf(stylesheets=[style])
    response = current_app.response_class(document, mimetype="application/pdf")
    stamp = views.now_paris().strftime("%Y-%m-%d")
    response.headers["Content-Disposition"] = f'attachment; filename="selection-{stamp}.pdf"'
    return response


@bp.get("/selection.pdf")
def pdf():
    return _pdf_response(items(get_session(), _ids()), gettext("Sélection d'offres"))


@bp.post("/selection/envoyer")
def send():
    """The selection by e-mail to the address typed; the address is neither stored nor
    logged (rate-limited per IP: SELECTION_MAIL_RATE_LIMIT)."""
    ids = _ids()
    address = (request.form.get("courriel") or "").strip()
    errors = {}
    if not ids:
        errors["selection"] = gettext("Sélection : elle est vide ; ajoutez au moins une offre avant de l'envoyer.")
    if not address:
        errors["courriel"] = gettext("Courriel : indiquez l'adresse de la personne.")
    elif len(address) > 254 or not _EMAIL.match(address):
        errors["courriel"] = gettext("Courriel : adresse invalide (exemple : nom@domaine.fr).")
    if errors:
        return _page(ids, errors=errors, courriel=address[:254], status=400)
    settings = _settings()
    body = render_template("public/selection_mail.txt", items=items(get_session(), ids),
                           generated=_now(), base_url=settings.base_url.rstrip("/"))
    try:
        send_mail(settings, [address], gettext("Votre sélection d'offres — %(site)s", site=settings.site_name), body)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("selection mail not sent: %s", exc.__class__.__name__)  # never the address
        return _page(ids, errors={"courriel": gettext("Courriel : l'envoi a échoué (serveur de courriel indisponible). "
                                                       "Réessayez plus tard, ou imprimez la sélection.")},
                     courriel=address, status=503)
    flash(ngettext("La sélection (%(num)s offre) a été envoyée par courriel. L'adresse n'est pas conservée.",
                   "La sélection (%(num)s offres) a été envoyée par courriel. L'adresse n'est pas conservée.",
                   len(ids)), "success")
    return redirect(url_for("selection.page"), 303)


@bp.post("/selection/partager")
def share():
    """A short link to the selection as it is now (rate-limited per IP:
    SELECTION_SHARE_RATE_LIMIT); its owner secret stays in this session."""
    settings = _settings()
    db = get_session()
    try:
        link, secret = sel.create_link(db, _ids(), days=settings.selection_link_days, now=_now(),
                                       max_offers=settings.selection_max_offers)
    except sel.SelectionError as exc:
        return _refuse(exc)
    db.commit()
    mine = session.get(LINKS_KEY) if isinstance(session.get(LINKS_KEY), dict) else {}
    mine[link.token] = secret
    session[LINKS_KEY] = dict(list(mine.items())[-MAX_LINKS_KEPT:])
    until = typography.date_words(link.expires_at)
    flash(gettext("Lien de partage créé, valable jusqu'au %(date)s : %(lien)s", date=until,
                  lien=_link_url(link.token)), "success")
    return redirect(url_for("selection.page") + "#liens", 303)


# ------------------------------------------------------------------ short links

def _stop(code: int, title: str, message: str):
    abort(make_response(render_template("error.html", code=code, title=title, message=message), code))


def _live_link(token: str):
    """The link of the token: 400 if malformed, 404 if unknown, 410 once expired."""
    try:
        link = sel.find_link(get_session(), token)
    except sel.SelectionError as exc:
        return _refuse(exc)
    if link is None:
        _stop(404, gettext("Lien introuvable"),
              gettext("Ce lien de sélection n'existe pas ou a été supprimé par la personne qui l'a créé."))
    if not permissions.can_read_selection_link(link, _now()):
        until = typography.date_words(link.expires_at)
        _stop(410, gettext("Lien expiré"), gettext(
            "Ce lien de sélection a expiré le %(date)s : demandez-en un nouveau à qui vous l'a donné.", date=until))
    return link


@bp.get("/s/<token>")
def shared(token):
    link = _live_link(token)
    db = get_session()
    return render_template(
        "public/selection.html", items=items(db, list(link.service_ids)), links=[], errors={}, courriel="",
        shared={"token": link.token, "expire": link.expires_at, "owner": _owner_secret(link.token) is not None},
        max_offers=_settings().selection_max_offers, link_days=_settings().selection_link_days,
        generated=_now(),
    )


@bp.get("/s/<token>/pdf")
def shared_pdf(token):
    link = _live_link(token)
    return _pdf_response(items(get_session(), list(link.service_ids)), gettext("Sélection d'offres"))


def _owner_secret(token: str) -> str | None:
    mine = session.get(LINKS_KEY)
    return mine.get(token) if isinstance(mine, dict) and isinstance(mine.get(token), str) else None


@bp.post("/s/<token>/supprimer")
def delete_link(token):
    """Only the session that made the link (it keeps the owner secret)."""
    link = _live_link(token)
    db = get_session()
    if not sel.delete_link(db, link, _owner_secret(token)):
        _stop(403, gettext("Suppression refusée"), gettext("Seule la personne qui a créé ce lien peut le supprimer, "
                                                           "depuis le navigateur où elle l'a créé."))
    db.commit()
    mine = session.get(LINKS_KEY)
    if isinstance(mine, dict):
        mine.pop(token, None)
        session[LINKS_KEY] = mine
    flash(gettext("Le lien de partage est supprimé : il n'ouvre plus rien."), "success")
    return redirect(url_for("selection.page"), 303)
