"""A search's results as a file (CSV, spreadsheet; web/exports.py adds the PDF and
the HTTP): the filters in words, one row per offer with its labels, and the
writers, which take the rows as they come (a generator over the pages of the
search) in constant memory."""

from __future__ import annotations

import io

from sqlalchemy.orm import Session

from catalogue import vocabulary
from catalogue.models import Structure
from catalogue.spreadsheet import SafeCsvWriter, neutralise, safe_row
from geo import lookup, territories

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


def describe(session: Session, query) -> list[str]:
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
        lines.append("Thématiques : " + ", ".join(vocabulary.thematique_label(c) for c in query.thematiques))
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


def row_of(service, distance_m, base_url: str) -> dict:
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


def header_lines(view: dict) -> list[str]:
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
    for text_ in header_lines(view):
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
    header = header_lines(view)
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
