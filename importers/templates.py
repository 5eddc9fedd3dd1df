"""The template a partner downloads (XLSX, CSV) and the YAML mapping that reads it."""

from __future__ import annotations

import csv
import io

from importers.sources.partner import default_mapping_text, parse_mapping

EXAMPLE = {
    "Identifiant de l'offre": "permis-jeunes-2026",
    "Nom de l'offre": "Aide au permis de conduire pour les jeunes",
    "Description": "Préparation au code et financement d'une partie des leçons de conduite.",
    "Type": "Aide financière",
    "Thématiques": "Préparer un permis; Financer ma mobilité",
    "Publics": "Jeunes",
    "Précisions sur les publics": "De 18 à 25 ans, suivis par la mission locale.",
    "Frais": "Gratuit",
    "Précisions sur les frais": "",
    "Conditions d'accès": "Être inscrit à la mission locale.",
    "Modes d'accueil": "Sur place",
    "Comment mobiliser": "Par téléphone; Se rendre sur place",
    "Qui peut mobiliser": "Professionnels; Usagers",
    "Lien de mobilisation": "",
    "Zone d'éligibilité": "02",
    "Contact": "Camille Martin",
    "Téléphone": "03 23 00 00 00",
    "Courriel": "contact@exemple.org",
    "Adresse": "2 rue Georges Citerne",
    "Code postal": "02000",
    "Commune": "Laon",
    "Code INSEE": "02408",
    "Horaires": "Mo-Fr 09:00-12:00,14:00-17:00; PH off",
    "Date de mise à jour": "2026-01-15",
    "Identifiant de la structure": "ml-laon",
    "Nom de la structure": "Mission locale du Pays de Laon",
    "SIRET de la structure": "",
}


def columns() -> list[str]:
    """The template's column titles, in the order of the default mapping."""
    import yaml

    return list(yaml.safe_load(default_mapping_text())["colonnes"])


def template_csv() -> bytes:
    """UTF-8 with BOM and semicolons: what a spreadsheet in French opens cleanly."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(columns())
    writer.writerow([EXAMPLE.get(c, "") for c in columns()])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "offres"
    ws.append(columns())
    ws.append([EXAMPLE.get(c, "") for c in columns()])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for column in ws.columns:
        ws.column_dimensions[column[0].column_letter].width = max(14, min(40, len(str(column[0].value)) + 4))
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def mapping_yaml() -> bytes:
    parse_mapping(default_mapping_text())  # the shipped example must stay valid
    return default_mapping_text().encode("utf-8")
