"""What the CTO's and the steering's pages share: the blueprint (its endpoints are
`cto.…`), the 403 page, the clock of the département, the PDF and CSV responses,
and the person's lists and committees."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, render_template, request

from catalogue import cto, cto_queries, permissions
from catalogue.cto import Committee, Shortlist
from catalogue.errors import ValidationError
from web.access import current_user

bp = Blueprint("cto", __name__)

PARIS = ZoneInfo("Europe/Paris")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
NOT_YOUR_LIST = "Seule la personne qui a enregistré cette liste peut la modifier."


@bp.errorhandler(403)
def forbidden(exc):
    """Always an HTML page (never JSON), saying who to ask."""
    message = exc.description if exc.description and "permission" not in exc.description else (
        "Cette page est réservée aux membres du comité technique (CTO) et à l'équipe du SPIE.")
    return render_template("cto/forbidden.html", message=message, contact=settings().contact_email), 403


def settings():
    return current_app.extensions["offre"]["settings"]


def now() -> datetime:
    return datetime.now(PARIS)


def today() -> date:
    return now().date()


def errors_of(exc: ValidationError) -> list[str]:
    names = {"reference": "Référence interne", "situation": "Situation", "territoire": "Territoire",
             "date": "Date", "duree": "Durée de conservation", "remarques": "Remarques", "note": "Note",
             "offre": "Offre", "perimetre": "Accès", "comite": "Comité", "courriel": "Courriel"}
    return [f"{names.get(k, k)} : {m}" for k, msgs in exc.errors.items() for m in msgs]


def pdf(html: str, filename: str):
    from weasyprint import HTML

    response = current_app.response_class(HTML(string=html, base_url=request.host_url).write_pdf(),
                                          mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv(data: bytes, filename: str):
    response = current_app.response_class(data, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response



def my_shortlists(session) -> list[Shortlist]:
    return cto_queries.shortlists_of(session, current_user(), now())


def upcoming_committees(session) -> list[Committee]:
    """The coming committees the user may read (and write)."""
    return cto_queries.upcoming_committees(session, current_user(), today())


def shortlist_or_404(session, token: str) -> Shortlist:
    """The list of the owner's link, for those who may read it (its creator, the
    members of a committee that has it on its agenda); 404 for anybody else, as
    for an unknown link."""
    found = cto.live_shortlist(session, token, now())
    if found is None or not permissions.can_read_shortlist(session, current_user(), found):
        abort(404)
    return found


def editable_shortlist(session, token: str, refused: str = NOT_YOUR_LIST) -> Shortlist:
    found = shortlist_or_404(session, token)
    if not permissions.can_edit_shortlist(current_user(), found):
        abort(403, description=refused)
    return found
