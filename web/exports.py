"""Exports for people: any search result as CSV, XLSX or PDF, with the same query
string as /recherche, and the date and the filters written in words on the file."""

from __future__ import annotations

import dataclasses
import io
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request, stream_with_context, url_for
from werkzeug.datastructures import MultiDict

from catalogue import vocabulary
from catalogue.models import Structure
from catalogue.spreadsheet import SafeCsvWriter, neutralise, safe_row
from geo import lookup, territories
from geo.names import normalise_name
from search.contract import MAX_PAGE_SIZE
from search.errors import InvalidQuery, SearchUnavailable
from web.api.geo import search_communes
from web.db import get_session
from web.search_ import load_services, query_from_args, run_search

bp = Blueprint("exports", __name__)

PARIS = ZoneInfo("Europe/Paris")
# Enough for any real list; a PDF is for reading and printing, so shorter.
MAX_ROWS = {"csv": 5000, "xlsx": 5000, "pdf": 1000}  # the PDF is refused beyond PDF_MAX_OFFERS
COLUMNS = (
    ("nom", "Offre"),
    ("structure", "Structure"),
    ("thematiques", "Thématiques"),
    ("publics", "Publics"),
    ("frais", "Frais"),
    ("modes_accueil", "Accueil"),
    ("commune", "Commune"),
    ("adresse", "Adresse"),
    ("telephone", "Téléphone"),
    ("courriel", "Courriel"),
    ("mobilisation", "Comment mobiliser"),
    ("distance_km", "Distance (km)"),
    ("date_maj", "Mise à jour"),
    ("lien", "Fiche en ligne"),
)


def _labels(codes, labels: dict[str, str]) -> str:
    return ", ".join(labels.get(c, c) for c in codes or [])


def _thematique_label(code: str) -> str:
    group = vocabulary.spie_group_by_code().get(code)
    if group:
        return group.label
    return vocabulary.categories().get(code) or vocabulary.thematiques().get(code) or code


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


def describe(session, query) -> list[str]:
    """The filters of the query, in words, one per line."""
    lines = []
    if query.text:
        lines.append(f"Recherche : « {query.text} »")
    if query.code_commune:
        nom = lookup.commune_name(session, query.code_commune)
        lines.append(f"Commune : {nom or query.code_commune} ({query.code_commune}), dans un rayon de {query.radius_km:g} km")
    elif query.point:
        lon, lat = query.point
        lines.append(f"Autour du point {lat:.5f}, {lon:.5f}, dans un rayon de {query.radius_km:g} km")
    if query.thematiques:
        lines.append("Thématiques : " + ", ".join(_thematique_label(c) for c in query.thematiques))
    if query.publics:
        lines.append("Publics : " + _labels(query.publics, vocabulary.publics()) + " (et les offres tous publics)")
    if query.frais:
        lines.append("Frais : " + _labels(query.frais, vocabulary.frais()))
    if query.types:
        lines.append("Types : " + _labels(query.types, vocabulary.types()))
    if query.modes_accueil:
        lines.append("Accueil : " + _labels(query.modes_accueil, vocabulary.modes_accueil()))
    if query.mobilisable_par:
        lines.append("Mobilisable par : " + _labels(query.mobilisable_par, vocabulary.mobilisable_par()))
    if query.sources:
        lines.append("Sources : " + ", ".join(query.sources))
    if query.structure:
        nom = session.get(Structure, query.structure)
        lines.append(f"Structure : {nom.nom if nom else query.structure}")
    if query.territory:
        nom = territories.territory_name(session, query.territory)
        lines.append(f"Territoire : {nom or query.territory}")
    if query.open_at:
        lines.append(f"Ouvert le {query.open_at:%d/%m/%Y à %H:%M}")
    if not lines:
        lines.append("Aucun filtre : toute l'offre publiée")
    lines.append(f"Tri : {query.sort.value}")
    return lines


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
    query = query_from_args(args, default_radius_km=settings.default_radius_km)
    query = dataclasses.replace(query, page=1, size=MAX_PAGE_SIZE, cursor=None, with_facets=False)
    limit = MAX_ROWS[fmt]
    first = run_search(query, log=True)
    if max_offers is not None and first.total > max_offers:
        raise ExportTooLarge(first.total, max_offers)
    filters = describe(session, query)

    def rows():
        page, written = first, 0
        while True:
            distances = {h.id: h.distance_m for h in page.hits}
            services = load_services(session, page.hits)
            for service in services:
                if written >= limit:
                    return
                written += 1
                yield _row(service, distances.get(service.id), settings.base_url)
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
        "columns": COLUMNS,
    }


def _row(service, distance_m, base_url: str) -> dict:
    how = _labels(service.modes_mobilisation, vocabulary.modes_mobilisation())
    if service.mobilisation_precisions:
        how = f"{how}. {service.mobilisation_precisions}" if how else service.mobilisation_precisions
    address = " ".join(x for x in (service.adresse, service.code_postal) if x)
    return {
        "nom": service.nom,
        "structure": service.structure.nom if service.structure else "",
        "thematiques": _labels(service.thematiques, vocabulary.thematiques()),
        "publics": _labels(service.publics, vocabulary.publics()),
        "frais": vocabulary.frais().get(service.frais, service.frais or ""),
        "modes_accueil": _labels(service.modes_accueil, vocabulary.modes_accueil()),
        "commune": service.commune or "",
        "adresse": address,
        "telephone": service.telephone or "",
        "courriel": service.courriel or "",
        "mobilisation": how,
        "distance_km": round(distance_m / 1000, 1) if distance_m is not None else "",
        "date_maj": service.date_maj.strftime("%d/%m/%Y") if service.date_maj else "",
        "lien": f"{base_url.rstrip('/')}/services/{service.id}",
    }


def _header_lines(view: dict) -> list[str]:
    count = f"{view['total']} offre(s)"
    if view["truncated"]:
        count += f", dont les {view['shown']} premières dans ce fichier"
    return [view["title"], view["generated"], *view["filters"], count]


class _Line:
    """A file-like object that keeps what csv.writer writes, to hand it out line by line."""

    def __init__(self):
        self.text = ""

    def write(self, text: str):
        self.text += text

    def take(self) -> bytes:
        out, self.text = self.text, ""
        return out.encode("utf-8")


def to_csv(view: dict):
    """The CSV, streamed: one chunk per row, written as the pages of the search come."""
    line = _Line()
    # Semicolons and a BOM: what a French spreadsheet opens without asking.
    writer = SafeCsvWriter(line, delimiter=";")
    line.write("\ufeff")
    for text_ in _header_lines(view):
        writer.writerow([text_])
    writer.writerow([])
    writer.writerow([label for _, label in COLUMNS])
    yield line.take()
    for row in view["rows"]:
        writer.writerow([row[key] for key, _ in COLUMNS])
        yield line.take()


def to_xlsx(view: dict) -> bytes:
    """The workbook in write-only mode: rows go to a temporary file as they come,
    in constant memory, and the file is zipped once at the end."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Offres")
    widths = {"nom": 45, "structure": 35, "thematiques": 45, "mobilisation": 45, "lien": 50}
    for index, (key, _) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = widths.get(key, 18)
    header = _header_lines(view)
    ws.freeze_panes = f"A{len(header) + 3}"
    for i, line in enumerate(header):
        cell = WriteOnlyCell(ws, value=neutralise(line))
        if i == 0:
            cell.font = Font(bold=True, size=14)
        ws.append([cell])
    ws.append([])
    bold = Font(bold=True)
    titles = []
    for _, label in COLUMNS:
        cell = WriteOnlyCell(ws, value=label)
        cell.font = bold
        titles.append(cell)
    ws.append(titles)
    for row in view["rows"]:
        ws.append(safe_row(row[key] for key, _ in COLUMNS))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_pdf(view: dict) -> bytes:
    from weasyprint import HTML

    html = render_template("exports/results.html", **{**view, "rows": list(view["rows"])})
    return HTML(string=html, base_url=request.host_url).write_pdf()


FORMATS = {
    "csv": (to_csv, "text/csv; charset=utf-8"),
    "xlsx": (to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
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
