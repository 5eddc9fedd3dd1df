"""Exports for people: any search result as CSV, XLSX or PDF, with the same query
string as /recherche, and the date and the filters written in words on the file."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request, stream_with_context, url_for
from werkzeug.datastructures import MultiDict

from catalogue import results_export
from geo.names import normalise_name
from search.contract import MAX_PAGE_SIZE
from search.errors import InvalidQuery, SearchUnavailable
from web.api.geo import search_communes
from web.db import get_session
from web.search_ import load_services, parse_query, run_search

bp = Blueprint("exports", __name__)

PARIS = ZoneInfo("Europe/Paris")
# Enough for any real list; a PDF is for reading and printing, so shorter.
MAX_ROWS = {"csv": 5000, "xlsx": 5000, "pdf": 1000}  # the PDF is refused beyond PDF_MAX_OFFERS



def _resolve_commune(session, args: MultiDict) -> MultiDict:
    """/recherche also takes `commune` (a name or a code): resolve it to code_commune,
    or refuse it by name; never drop it."""
    name = (args.get("commune") or "").strip()
    if not name or args.get("code_commune"):
        return args
    found = search_communes(session, name, 5)
    exact = [c for c in found if c["code"] == name.upper() or normalise_name(c["nom"]) == normalise_name(name)]
    if len(exact) != 1 and len(found) != 1:
        raise InvalidQuery("commune", f"commune introuvable ou ambiguë : « {name} » (donnez son code INSEE dans code_commune)")
    args = MultiDict(args)
    args["code_commune"] = (exact or found)[0]["code"]
    return args


class ExportTooLarge(Exception):
    """A PDF asked for more offers than the setting allows."""

    def __init__(self, total: int, limit: int):
        super().__init__(total, limit)
        self.total, self.limit = total, limit


def export_view(session, args: MultiDict, fmt: str, *, max_offers: int | None = None) -> dict:
    """The header of the export and its rows as a generator over the pages of the
    search (up to MAX_ROWS[fmt]): the first page is searched here, so that a bad filter
    is refused before anything is sent; the others while the file is written.
    Raises ExportTooLarge when the search finds more than `max_offers` offers."""
    settings = current_app.extensions["offre"]["settings"]
    args = _resolve_commune(session, args)
    query = parse_query(args)
    query = dataclasses.replace(query, page=1, size=MAX_PAGE_SIZE, cursor=None, with_facets=False)
    limit = MAX_ROWS[fmt]
    first = run_search(query, log=True)
    if max_offers is not None and first.total > max_offers:
        raise ExportTooLarge(first.total, max_offers)
    filters = results_export.describe(session, query)

    def rows():
        page, written = first, 0
        while True:
            distances = {h.id: h.distance_m for h in page.hits}
            services = load_services(session, page.hits)
            for service in services:
                if written >= limit:
                    return
                written += 1
                yield results_export.row_of(service, distances.get(service.id), settings.base_url)
            # The offers of a page are not needed once written (memory stays flat).
            for service in services:
                session.expunge(service)
            if not page.next_cursor or not page.hits or written >= limit:
                return
            page = run_search(dataclasses.replace(query, cursor=page.next_cursor), log=False)

    now = datetime.now(PARIS)
    return {
        "title": f"{settings.site_name} — {settings.departement_nom}",
        "generated": f"Export du {now:%d/%m/%Y à %H:%M}",
        "filters": filters,
        "total": first.total,
        "shown": min(first.total, limit),
        "rows": rows(),
        "truncated": first.total > limit,
        "columns": results_export.COLUMNS,
    }


def to_pdf(view: dict) -> bytes:
    from weasyprint import HTML

    html = render_template("exports/results.html", **{**view, "rows": list(view["rows"])})
    return HTML(string=html, base_url=request.host_url).write_pdf()


FORMATS = {
    "csv": (results_export.to_csv, "text/csv; charset=utf-8"),
    "xlsx": (results_export.to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": (to_pdf, "application/pdf"),
}


def _too_large(exc: ExportTooLarge):
    # The same search, as a query string (never as url_for keywords: a parameter
    # named "endpoint" or "_external" would be taken for one of url_for's).
    query = urlencode(list(request.args.items(multi=True)))

    def same_search(endpoint: str) -> str:
        return url_for(endpoint) + (f"?{query}" if query else "")

    return render_template(
        "exports/too_large.html", total=exc.total, limit=exc.limit,
        csv_url=same_search("exports.export_csv"), xlsx_url=same_search("exports.export_xlsx"),
        results_url=same_search("public.results"),
    ), 400


def _export(fmt: str):
    session = get_session()
    settings = current_app.extensions["offre"]["settings"]
    try:
        view = export_view(session, MultiDict(request.args), fmt,
                           max_offers=settings.pdf_max_offers if fmt == "pdf" else None)
    except InvalidQuery as exc:
        message = f"{exc.field} : {exc.message}"
        return render_template("error.html", code=400, title="Export impossible : filtre invalide", message=message), 400
    except ExportTooLarge as exc:
        return _too_large(exc)
    except SearchUnavailable:
        return render_template(
            "error.html", code=503, title="Export momentanément indisponible",
            message="Le moteur de recherche ne répond pas. Réessayez dans quelques instants.",
        ), 503
    render, mimetype = FORMATS[fmt]
    stamp = datetime.now(PARIS).strftime("%Y-%m-%d")
    body = render(view)
    if fmt == "csv":
        body = stream_with_context(body)
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="offres-{stamp}.{fmt}"'
    return response


@bp.get("/recherche/export.csv")
def export_csv():
    return _export("csv")


@bp.get("/recherche/export.xlsx")
def export_xlsx():
    return _export("xlsx")


@bp.get("/recherche/export.pdf")
def export_pdf():
    return _export("pdf")
