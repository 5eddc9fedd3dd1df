"""The data·inclusion national template (« valideur »), as a producer fills it in
Excel: `__ignore__` rows, descriptions, extra and doubled columns, numbers typed by
Excel, lists as comma-separated text, no `source` nor `date_maj`."""

from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pytest
from sqlalchemy import select

from catalogue.models import Service, Structure
from importers import registry
from importers.errors import FileFormatError
from importers.models import QuarantinedRecord
from tests.importers.conftest import counts

STRUCTURE_COLUMNS = [
    "__ignore__", "id", "nom", "siret", "description", "adresse", "complement_adresse", "commune",
    "code_postal", "code_insee", "telephone", "courriel", "lien_source", "site_web", "horaires_accueil",
    "accessibilite_lieu", "reseaux_porteurs", "colonne en trop",
]
SERVICE_COLUMNS = [
    "__ignore__", "structure_id", "id", "nom", "description", "lien_source", "type", "thematiques",
    "lien_source", "frais", "frais_precisions", "publics", "publics_precisions", "conditions_acces",
    "commune", "code_insee", "code_postal", "adresse", "complement_adresse", "telephone", "courriel",
    "modes_accueil", "zone_eligibilite", "contact_nom_prenom", "modes_mobilisation", "lien_mobilisation",
    "mobilisable_par", "mobilisation_precisions", "volume_horaire_hebdomadaire", "nombre_semaines",
    "horaires_accueil", "lien_url_widget",
]


def _description_row(columns):
    return [True] + [f"Description du champ {c}, telle que le modèle l'écrit." for c in columns[1:]]


def _row(columns, values: dict, flag=None):
    row = [flag]
    seen = set()
    for c in columns[1:]:
        # The doubled column: the producer filled the second one.
        if c in seen:
            row.append(values.get(f"{c}#2"))
        else:
            row.append(values.get(c))
            seen.add(c)
    return row


STRUCTURES = [
    # Excel typed the SIRET and the codes as numbers: 02000 became 2000.0.
    {"id": "str-ml-laon", "nom": "Mission locale du Pays de Laon", "siret": 13000246500011.0,
     "description": "Accompagnement des jeunes de 16 à 25 ans vers l'emploi et la formation.",
     "adresse": "2 rue Georges Citerne", "commune": "Laon", "code_postal": 2000.0, "code_insee": 2408.0,
     "telephone": "03 23 00 00 00", "courriel": "contact@ml-laon.fr", "reseaux_porteurs": "mission-locale",
     "horaires_accueil": "Mo-Fr 09:00-12:00,14:00-17:00", "colonne en trop": "à ne pas lire"},
    {"id": "str-ccas-chauny", "nom": "CCAS de Chauny", "commune": "Chauny", "code_postal": 2300.0,
     "code_insee": "02173", "courriel": "ccas@chauny.fr"},
    # Invalid: not an e-mail address.
    {"id": "str-bad-mail", "nom": "Structure au courriel faux", "commune": "Laon", "code_insee": "02408",
     "courriel": "pas une adresse"},
]
SERVICES = [
    {"structure_id": "str-ml-laon", "id": "svc-permis", "nom": "Aide au permis de conduire",
     "description": "Préparation au code et financement d'une partie des leçons de conduite.",
     "type": "aide-financiere", "thematiques": "mobilite--preparer-un-permis, mobilite--financer-ma-mobilite",
     "lien_source#2": "https://ml-laon.fr/permis", "frais": "gratuit", "publics": "jeunes",
     "code_insee": 2408.0, "modes_accueil": "en-presentiel, a-distance", "zone_eligibilite": 2408.0,
     "modes_mobilisation": "telephoner; se-presenter", "mobilisable_par": "professionnels, usagers",
     "volume_horaire_hebdomadaire": 10.5, "nombre_semaines": 3.0, "lien_url_widget": "https://x.example"},
    {"structure_id": "str-ccas-chauny", "id": "svc-epicerie", "nom": "Épicerie solidaire",
     "description": "Produits alimentaires à petit prix pour les familles orientées par le CCAS.",
     "thematiques": "equipement-et-alimentation--alimentation", "code_insee": "02173",
     "zone_eligibilite": "02173, 02408"},
    # Invalid: a thematique that does not exist.
    {"structure_id": "str-ccas-chauny", "id": "svc-bad-theme", "nom": "Offre à la thématique inconnue",
     "description": "Une offre dont la thématique n'est pas dans le référentiel national.",
     "thematiques": "mobilite--voler", "code_insee": "02173"},
]


def _template(path, structures=STRUCTURES, services=SERVICES):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, columns, rows in (("Structures", STRUCTURE_COLUMNS, structures),
                                 ("Services", SERVICE_COLUMNS, services)):
        ws = wb.create_sheet(title)
        ws.append(columns)
        ws.append(_description_row(columns))
        # The template's example row, flagged too.
        ws.append(_row(columns, {c: f"exemple {c}" for c in columns}, flag=True))
        for values in rows:
            ws.append(_row(columns, values))
        # A row the producer flagged by hand, with "x".
        ws.append(_row(columns, {"id": "brouillon", "nom": "Pas encore prêt"}, flag="x"))
    # Reference sheets of the template: never read.
    ref = wb.create_sheet("Thématiques")
    ref.append(["value", "label", "description"])
    ref.append(["mobilite--preparer-un-permis", "Préparer un permis", ""])
    ref = wb.create_sheet("Services - Thématiques")
    ref.append(["__ignore__", "service_id", "thématique"])
    wb.save(path)  # openpyxl dates the workbook of its saving, as Excel does
    return path


def _saved_on(path) -> dt.date:
    return openpyxl.load_workbook(path, read_only=True).properties.modified.date()


def test_filled_template_imports_every_valid_row_with_source_and_the_file_date(db, run_import, tmp_path):
    path = _template(tmp_path / "modele-rempli.xlsx")
    report = run_import("data-inclusion", path, options={"default_source": "ml-laon"})
    assert counts(report, "structure")["crees"] == 2
    assert counts(report, "service")["crees"] == 2
    # Description, example and flagged rows are never read: only the two invalid rows are refused.
    assert counts(report, "structure")["lus"] == 3 and counts(report, "service")["lus"] == 3
    refused = {r["id"]: r["motif"] for r in report["rejets"]}
    assert set(refused) == {"str-bad-mail", "svc-bad-theme"}
    assert refused["str-bad-mail"].startswith("courriel")
    assert "thematiques" in refused["svc-bad-theme"] and "mobilite--voler" in refused["svc-bad-theme"]
    quarantined = db.scalars(select(QuarantinedRecord).where(QuarantinedRecord.run_id == report["run_id"])).all()
    assert {q.record_id for q in quarantined} == {"str-bad-mail", "svc-bad-theme"}
    assert all(q.record_source == "ml-laon" for q in quarantined)

    ml = db.scalar(select(Structure).where(Structure.source_id == "str-ml-laon"))
    assert ml.source == "ml-laon"
    assert (ml.siret, ml.code_postal, ml.code_insee) == ("13000246500011", "02000", "02408")
    saved = _saved_on(path)
    assert ml.date_maj == saved  # the workbook's date
    permis = db.scalar(select(Service).where(Service.source_id == "svc-permis"))
    assert permis.thematiques == ["mobilite--financer-ma-mobilite", "mobilite--preparer-un-permis"]
    assert permis.modes_mobilisation == ["se-presenter", "telephoner"]
    assert permis.zone_eligibilite == ["02408"]  # 2408.0 as Excel typed it
    assert permis.lien_source == "https://ml-laon.fr/permis"  # the doubled column's filled cell
    assert (permis.volume_horaire_hebdomadaire, permis.nombre_semaines) == (10.5, 3)
    epicerie = db.scalar(select(Service).where(Service.source_id == "svc-epicerie"))
    assert epicerie.zone_eligibilite == ["02173", "02408"]

    warnings = report["avertissements"]
    assert warnings["source absente : « ml-laon » (option --source) utilisée"] == 6
    assert warnings[f"date_maj absente : date du fichier ({saved.isoformat()}) utilisée"] == 6
    # Each unknown column said once, whatever the number of rows.
    assert warnings["modele-rempli.xlsx, feuille « Structures » : colonne inconnue ignorée « colonne_en_trop »"] == 1
    assert warnings["modele-rempli.xlsx, feuille « Services » : colonne inconnue ignorée « lien_url_widget »"] == 1
    assert warnings[
        "modele-rempli.xlsx, feuille « Services » : colonne « lien_source » en double "
        "(la première cellule remplie est lue)"] == 1

    # The same file again: nothing changes.
    again = run_import("data-inclusion", path, options={"default_source": "ml-laon"})
    assert counts(again, "service")["inchanges"] == 2 and counts(again, "structure")["inchanges"] == 2


def test_template_without_source_column_needs_the_producer_name(db, tmp_path, sessions):
    path = _template(tmp_path / "modele.xlsx")
    with pytest.raises(FileFormatError) as exc:
        registry.run_import(sessions, "data-inclusion", str(path), tmp_path)
    assert "pas de colonne « source »" in str(exc.value) and "--source NOM" in str(exc.value)
    assert db.scalar(select(Structure).where(Structure.source_id == "str-ml-laon")) is None


def test_same_columns_as_csv(db, run_import, tmp_path):
    """The template's sheets saved as CSV by a spreadsheet: same reading."""
    folder = tmp_path / "export-tableur"
    folder.mkdir()
    for name, columns, rows in (("structures", STRUCTURE_COLUMNS, STRUCTURES),
                                ("services", SERVICE_COLUMNS, SERVICES)):
        with open(folder / f"{name}.csv", "w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f, delimiter=";")
            writer.writerow(columns)
            writer.writerow(["VRAI", *_description_row(columns)[1:]])
            for values in rows:
                # A spreadsheet writes the numbers as it displays them.
                shown = {k: (str(int(v)) if isinstance(v, float) and v.is_integer() else
                             str(v).replace(".", ",") if isinstance(v, float) else v)
                         for k, v in values.items()}
                writer.writerow(["" if v is None else v for v in _row(columns, shown)])
    report = run_import("data-inclusion", folder, options={"default_source": "ml-laon"})
    assert counts(report, "structure")["crees"] == 2 and counts(report, "service")["crees"] == 2
    assert {r["id"] for r in report["rejets"]} == {"str-bad-mail", "svc-bad-theme"}
    ml = db.scalar(select(Structure).where(Structure.source_id == "str-ml-laon"))
    assert (ml.code_postal, ml.siret) == ("02000", "13000246500011")
    assert "date_maj absente" in " ".join(report["avertissements"])


def test_cli_source_option_both_spellings(app, runner_env, tmp_path, db):
    from web.cli import build_cli

    cli = build_cli()
    path = _template(tmp_path / "modele.xlsx", services=SERVICES[:1], structures=STRUCTURES[:1])
    runner = app.test_cli_runner()
    refused = runner.invoke(cli, ["import", "run", "data-inclusion", str(path)], obj=runner_env)
    assert refused.exit_code != 0 and "--source NOM" in refused.output
    bad = runner.invoke(cli, ["import", "data-inclusion", str(path), "--source", "Mauvais Nom"], obj=runner_env)
    assert bad.exit_code == 2 and "--source" in bad.output
    outputs = []
    for args in (["import", "run", "data-inclusion", str(path), "--source", "ml-laon"],
                 ["import", "data-inclusion", str(path), "--source", "ml-laon"]):
        result = runner.invoke(cli, args, obj=runner_env)
        assert result.exit_code == 0, result.output
        assert "colonne inconnue ignorée « colonne_en_trop »" in result.output
        outputs.append(result.output)
    assert "Offres : 1 lus, 1 créés" in outputs[0]
    assert "Offres : 1 lus, 0 créés, 0 modifiés, 1 inchangés" in outputs[1]


def test_national_template_download_imports_as_is(db, client, run_import, tmp_path):
    """The template offered beside the project's own: its description and example
    rows are flagged; filled with one row per sheet, it imports."""
    response = client.get("/modeles/data-inclusion.xlsx")
    assert response.status_code == 200
    assert 'filename="data-inclusion.xlsx"' in response.headers["Content-Disposition"]
    path = tmp_path / "data-inclusion.xlsx"
    path.write_bytes(response.data)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:2] == ["Structures", "Services"] and "Thématiques" in wb.sheetnames
    for title, values in (
        ("Structures", {"id": "s1", "nom": "Association Rebond", "code_insee": "02408", "code_postal": "02000"}),
        ("Services", {"structure_id": "s1", "id": "o1", "nom": "Atelier CV",
                      "description": "Un atelier pour écrire son CV avec un conseiller.",
                      "thematiques": "preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation",
                      "code_insee": "02408"}),
    ):
        ws = wb[title]
        header = [c.value for c in ws[1]]
        assert header[0] == "__ignore__" and "source" not in header
        ws.append([values.get(h) for h in header])
    wb.save(path)
    report = run_import("data-inclusion", path, options={"default_source": "rebond"})
    assert report["rejets"] == []
    assert counts(report, "structure")["crees"] == 1 and counts(report, "service")["crees"] == 1
    assert db.scalar(select(Structure.code_postal).where(Structure.source_id == "s1")) == "02000"


def test_without_a_saved_date_the_file_date_is_used(db, run_import, tmp_path):
    """A workbook whose properties hold no « modified » date (some tools write none):
    the file's own date, never today's by accident."""
    import io
    import os
    import re
    import zipfile

    path = _template(tmp_path / "sans-date.xlsx", structures=STRUCTURES[:1], services=SERVICES[:1])
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = re.sub(rb"<dcterms:modified[^>]*>[^<]*</dcterms:modified>", b"", content)
            target.writestr(item, content)
    path.write_bytes(out.getvalue())
    assert b"dcterms:modified" not in zipfile.ZipFile(path).read("docProps/core.xml")
    stamp = dt.datetime(2025, 11, 20, 12, 0).timestamp()
    os.utime(path, (stamp, stamp))
    report = run_import("data-inclusion", path, options={"default_source": "ml-laon"})
    assert counts(report, "structure")["crees"] == 1
    ml = db.scalar(select(Structure).where(Structure.source_id == "str-ml-laon"))
    assert ml.date_maj == dt.date(2025, 11, 20)
