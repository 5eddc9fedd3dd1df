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


# --- the national template (data·inclusion « valideur ») -------------------------

# Example rows of the national template (flagged in `__ignore__`, like its descriptions).
NATIONAL_EXAMPLE = {
    "Structures": {
        "id": "ml-laon", "nom": "Mission locale du Pays de Laon", "date_maj": "2026-01-15",
        "description": "Accompagnement des jeunes de 16 à 25 ans vers l'emploi, la formation et l'autonomie.",
        "siret": "13000000000011", "commune": "Laon", "code_postal": "02000", "code_insee": "02408",
        "adresse": "2 rue Georges Citerne", "telephone": "03 23 00 00 00", "courriel": "contact@exemple.org",
        "horaires_accueil": "Mo-Fr 09:00-12:00,14:00-17:00; PH off", "reseaux_porteurs": "mission-locale",
    },
    "Services": {
        "structure_id": "ml-laon", "id": "permis-jeunes", "nom": "Aide au permis de conduire",
        "description": "Préparation au code et financement d'une partie des leçons de conduite.",
        "date_maj": "2026-01-15", "type": "aide-financiere",
        "thematiques": "mobilite--preparer-un-permis, mobilite--financer-ma-mobilite",
        "frais": "gratuit", "publics": "jeunes", "modes_accueil": "en-presentiel",
        "zone_eligibilite": "02", "modes_mobilisation": "telephoner, se-presenter",
        "mobilisable_par": "professionnels, usagers", "code_insee": "02408",
    },
}


def _references() -> list[tuple[str, list]]:
    from data_inclusion.schema import v1

    return [
        ("Thématiques", list(v1.Thematique)), ("Publics", list(v1.Public)),
        ("Types de services", list(v1.TypeService)), ("Frais", list(v1.Frais)),
        ("Modes d'accueil", list(v1.ModeAccueil)), ("Modes de mobilisation", list(v1.ModeMobilisation)),
        ("Personnes mobilisatrices", list(v1.PersonneMobilisatrice)),
        ("Réseaux porteurs", list(v1.ReseauPorteur)),
    ]


def national_columns(kind: str) -> list[str]:
    """The columns of a sheet of the national template: the v1 fields but `source`
    (the producer is the source: --source when importing it)."""
    from data_inclusion.schema import v1

    model = v1.Structure if kind == "Structures" else v1.Service
    return [name for name in model.model_fields if name != "source"]


def national_template_xlsx() -> bytes:
    """The data·inclusion national template as the valideur reads it: sheets
    `Structures` and `Services` (row 1 the v1 field names, row 2 their descriptions,
    row 3 an example, both flagged in the first column `__ignore__`), then one
    sheet per vocabulary (value, label, description)."""
    from data_inclusion.schema import v1
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for title, model in (("Structures", v1.Structure), ("Services", v1.Service)):
        ws = wb.create_sheet(title)
        names = national_columns(title)
        ws.append(["__ignore__", *names])
        ws.append([True, *[(model.model_fields[n].description or "").split("\n\n")[0] for n in names]])
        ws.append([True, *[NATIONAL_EXAMPLE[title].get(n) for n in names]])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for index, name in enumerate(names, start=2):
            letter = ws.cell(row=1, column=index).column_letter
            ws.column_dimensions[letter].width = max(14, min(40, len(name) + 4))
            if name in ("code_postal", "code_insee", "siret", "telephone", "zone_eligibilite"):
                # Text cells: Excel keeps the leading zeros of 02000.
                for row in range(2, 1001):
                    ws.cell(row=row, column=index).number_format = "@"
        ws.freeze_panes = "B2"
    for title, members in _references():
        ws = wb.create_sheet(title)
        ws.append(["value", "label", "description"])
        for member in members:
            ws.append([member.value, getattr(member, "label", None), getattr(member, "description", None)])
        ws.cell(row=1, column=1).font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
