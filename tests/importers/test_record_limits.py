"""What one record may cost: control characters, huge lists and texts, oversized
records. A malformed record is quarantined; it never aborts the run."""

from __future__ import annotations

import csv
import json

from sqlalchemy import select

from catalogue.models import Service, Structure
from importers import limits
from importers.models import ImportRun, QuarantinedRecord
from tests.importers.conftest import counts


def _structure(**extra) -> dict:
    return {"source": "cd02-test", "id": "s1", "nom": "Centre social de Laon", "date_maj": "2026-01-10",
            "code_insee": "02408", **extra}


def _service(i: int, **extra) -> dict:
    return {"source": "cd02-test", "id": f"o{i}", "structure_id": "s1", "nom": f"Atelier numérique {i}",
            "description": "Apprendre à se servir d'un ordinateur et d'internet.", "date_maj": "2026-01-10",
            "thematiques": ["numerique--maitriser-les-fondamentaux-du-numerique"], "code_insee": "02408",
            **extra}


def _ndjson(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_control_characters_are_removed_and_a_nul_in_a_refused_record_is_quarantined(db, run_import, tmp_path):
    records = [
        _structure(),
        # A copy-paste from a PDF: NUL and a vertical tab inside valid fields.
        _service(1, nom="Atelier\u0000 numérique", description="Ordinateur\u000b et internet pour débuter."),
        # Refused (unknown thematique) with a NUL in the refused value and in the raw payload.
        _service(2, thematiques=["numerique--\u0000inconnue"], contact_nom_prenom="Camille\u0000 Martin"),
        _service(3),
    ]
    report = run_import("data-inclusion", _ndjson(tmp_path / "controles.ndjson", records))
    assert report["status"] == "termine"
    assert counts(report, "service")["crees"] == 2 and counts(report, "service")["rejetes"] == 1
    clean = db.scalar(select(Service).where(Service.source_id == "o1"))
    assert clean.nom == "Atelier numérique"
    assert clean.description == "Ordinateur et internet pour débuter."
    assert "\u0000" not in json.dumps(clean.raw)
    assert report["avertissements"]["caractères de contrôle retirés : nom"] == 1
    assert report["avertissements"]["caractères de contrôle retirés : description"] == 1
    refused = db.scalar(select(QuarantinedRecord).where(QuarantinedRecord.record_id == "o2"))
    assert refused.reason == "thematiques : valeur inconnue : numerique--inconnue"
    assert refused.raw["contact_nom_prenom"] == "Camille Martin"


def test_a_huge_list_is_refused_by_name_before_it_is_validated(db, run_import, tmp_path):
    themes = ["numerique--maitriser-les-fondamentaux-du-numerique"] * 100_000
    records = [_structure(), _service(1), _service(2, thematiques=themes), _service(3)]
    path = _ndjson(tmp_path / "liste.ndjson", records)
    assert path.stat().st_size > 5_000_000  # larger than the record cap: refused as a whole
    report = run_import("data-inclusion", path)
    assert counts(report, "service")["crees"] == 2
    (rejection,) = report["rejets"]
    assert rejection["ligne"] == 3
    assert rejection["motif"].startswith("enregistrement : trop volumineux (5")

    # Short codes: a 100,000-item list within the record cap, refused by its field.
    records = [_structure(), _service(4, thematiques=["x"] * 100_000)]
    report = run_import("data-inclusion", _ndjson(tmp_path / "liste-courte.ndjson", records))
    (rejection,) = report["rejets"]
    assert rejection["motif"] == "thematiques : liste trop longue (100\u202f000 éléments, maximum 1\u202f000)"
    stored = db.scalar(select(QuarantinedRecord).where(QuarantinedRecord.run_id == report["run_id"]))
    # The quarantine keeps a shortened payload, marked.
    assert len(stored.raw["thematiques"]) == 51 and stored.raw["thematiques"][-1].startswith("… (99")


def test_a_huge_cell_is_refused_by_name(db, run_import, tmp_path):
    path = tmp_path / "services.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["source", "structure_id", "id", "nom", "description", "date_maj", "code_insee"])
        writer.writerow(["cd02-test", "s1", "o1", "Atelier numérique", "x" * 25_000, "2026-01-10", "02408"])
        writer.writerow(["cd02-test", "s1", "o2", "Atelier numérique", "Pour débuter.", "2026-01-10", "02408"])
    structures = tmp_path / "structures.csv"
    structures.write_text("source,id,nom,date_maj,code_insee\ncd02-test,s1,Centre social,2026-01-10,02408\n")
    report = run_import("data-inclusion", tmp_path)
    assert counts(report, "service")["crees"] == 1
    (rejection,) = report["rejets"]
    assert rejection["motif"] == "description : texte trop long (25\u202f000 caractères, maximum 20\u202f000)"


def test_ids_too_long_for_their_columns_are_refused_not_a_failed_batch(db, run_import, tmp_path):
    records = [_structure(), _service(1, id="o" * 400), _service(2)]
    report = run_import("data-inclusion", _ndjson(tmp_path / "ids.ndjson", records))
    assert report["status"] == "termine"
    assert counts(report, "service")["crees"] == 1
    assert report["rejets"][0]["motif"] == "id : trop long (300 caractères au plus)"
    assert db.scalar(select(Structure).where(Structure.source_id == "s1")) is not None


def test_a_line_over_the_cap_is_not_even_parsed(tmp_path):
    from importers.readers import iter_ndjson

    path = tmp_path / "gros.ndjson"
    path.write_text(json.dumps(_service(1, description="d" * (limits.MAX_RECORD + 10))) + "\n"
                    + json.dumps(_service(2)) + "\n")
    big, small = list(iter_ndjson(path, "utf-8"))
    assert set(big.data) == {"_extrait"} and big.size > limits.MAX_RECORD
    assert small.data["id"] == "o2" and small.size < 1000


def test_records_of_ordinary_size_are_not_looked_at():
    """The hot path: a record under the smallest cap costs one comparison."""
    assert limits.check_record({"thematiques": ["x"] * 5000}, size=100) is None
    assert limits.check_record({"thematiques": ["x"] * 5000}, size=None) == {
        "thematiques": ["liste trop longue (5\u202f000 éléments, maximum 1\u202f000)"]}


def test_a_run_with_bad_records_ends(db, run_import, tmp_path):
    records = [_structure(), _service(1, nom="\u0000"), {"source": "cd02-test", "id": "\u0000"}, _service(2),
               # Valid but for a NUL in its id: refused, naming the id.
               _service(3, id="o\u00003"), _service(4, structure_id="s\u00001")]
    report = run_import("data-inclusion", _ndjson(tmp_path / "mauvais.ndjson", records), snapshot=True,
                        force=True)
    run = db.get(ImportRun, report["run_id"])
    assert run.status == "termine" and run.finished_at is not None
    assert counts(report, "service")["crees"] == 1
    motifs = {r["id"]: r["motif"] for r in report["rejets"]}
    assert motifs["o3"] == "id : caractère de contrôle (invisible) refusé"
    assert motifs["o4"] == "structure_id : caractère de contrôle (invisible) refusé"
