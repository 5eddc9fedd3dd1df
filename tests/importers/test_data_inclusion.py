"""data·inclusion v1: JSON, NDJSON, CSV and the validator's workbook."""

from __future__ import annotations

import csv
import json

import openpyxl
from sqlalchemy import func, select

from catalogue.models import AuditLog, SearchOutbox, Service, Structure
from tests.importers.conftest import DATA, counts


def _both(tmp_path):
    folder = tmp_path / "di"
    folder.mkdir()
    for name in ("structures", "services"):
        (folder / f"{name}.json").write_bytes((DATA / f"di-v1-{name}.json").read_bytes())
    return folder


def test_json_folder_imports_structures_and_services_with_their_own_provenance(db, run_import, tmp_path):
    report = run_import("data-inclusion", _both(tmp_path))
    assert report["status"] == "termine"
    assert counts(report, "structure")["crees"] == 3
    assert counts(report, "service")["crees"] == 4
    assert report["rejets"] == []
    svc = db.scalar(select(Service).where(Service.source_id == "dora--svc-0101"))
    assert svc.source == "dora"
    assert svc.structure.source_id == "dora--a3f1c2d4"
    assert svc.thematiques == ["mobilite--financer-ma-mobilite", "mobilite--preparer-un-permis"]
    assert svc.location_precision.value == "source"
    # No coordinates: the commune's centre, marked approximate.
    dom = db.scalar(select(Service).where(Service.source_id == "dora--svc-0201"))
    assert dom.location is not None and dom.location_precision.value == "commune"
    ccas = db.scalar(select(Structure).where(Structure.source_id == "dora--b7e29a10"))
    assert ccas.raw["telephone"] == "03 23 06 93 93"


class _AddressBook:
    """A geocoder answering from a fixed address book (the BAN is an online
    service: tests/geo checks the BAN client itself against a local server)."""

    def __init__(self, answers):
        self.answers = answers
        self.asked = []

    def locate(self, address, citycode):
        from geo.geocoding import ADDRESS, GeocodeResult

        self.asked.append((address, citycode))
        found = self.answers.get(address)
        return GeocodeResult(lon=found[0], lat=found[1], score=0.9, precision=ADDRESS) if found else None


def test_with_a_geocoder_addresses_without_coordinates_are_geocoded(db, run_import, tmp_path):
    folder = _both(tmp_path)
    services = json.loads((folder / "services.json").read_text())
    dom = next(s for s in services if s["id"] == "dora--svc-0201")
    assert dom.get("longitude") is None
    dom["adresse"] = "12 rue de la Gare"
    (folder / "services.json").write_text(json.dumps(services, ensure_ascii=False))
    geocoder = _AddressBook({dom["adresse"]: (3.4712, 49.0458)})
    report = run_import("data-inclusion", folder, geocoder=geocoder)
    assert report["status"] == "termine"
    assert (dom["adresse"], dom["code_insee"]) in geocoder.asked
    found = db.scalar(select(Service).where(Service.source_id == "dora--svc-0201"))
    assert found.location_precision.value == "adresse"
    lon, lat = db.execute(select(func.ST_X(func.ST_GeomFromWKB(func.ST_AsBinary(Service.location))),
                                 func.ST_Y(func.ST_GeomFromWKB(func.ST_AsBinary(Service.location))))
                          .where(Service.id == found.id)).one()
    assert (round(lon, 4), round(lat, 4)) == (3.4712, 49.0458)
    # Coordinates given by the source are kept as they are, never geocoded.
    svc = db.scalar(select(Service).where(Service.source_id == "dora--svc-0101"))
    assert svc.location_precision.value == "source"


def test_same_file_twice_second_report_all_unchanged_and_triggers_quiet(db, run_import, tmp_path):
    folder = _both(tmp_path)
    run_import("data-inclusion", folder)
    audit = db.scalar(select(func.count()).select_from(AuditLog))
    outbox = db.scalar(select(func.count()).select_from(SearchOutbox))
    second = run_import("data-inclusion", folder)
    for kind, n in (("structure", 3), ("service", 4)):
        c = counts(second, kind)
        assert (c["crees"], c["modifies"], c["inchanges"]) == (0, 0, n)
    assert db.scalar(select(func.count()).select_from(AuditLog)) == audit
    assert db.scalar(select(func.count()).select_from(SearchOutbox)) == outbox


def test_changed_record_is_updated_once(db, run_import, tmp_path):
    folder = _both(tmp_path)
    run_import("data-inclusion", folder)
    services = json.loads((folder / "services.json").read_text())
    services[0]["nom"] = "Aide au permis de conduire B pour les jeunes"
    (folder / "services.json").write_text(json.dumps(services, ensure_ascii=False))
    report = run_import("data-inclusion", folder)
    assert counts(report, "service")["modifies"] == 1
    assert counts(report, "service")["inchanges"] == 3


def test_ndjson_mixed_file(db, run_import, tmp_path):
    path = tmp_path / "export.ndjson"
    lines = json.loads((DATA / "di-v1-structures.json").read_text()) + json.loads(
        (DATA / "di-v1-services.json").read_text()
    )
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in lines) + "\n")
    report = run_import("data-inclusion", path)
    assert counts(report, "structure")["crees"] == 3
    assert counts(report, "service")["crees"] == 4


def _write_csv(path, records, encoding="utf-8", delimiter=","):
    keys = sorted({k for r in records for k in r})
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(keys)
        for r in records:
            w.writerow([",".join(v) if isinstance(v, list) else ("" if v is None else v) for v in (r.get(k) for k in keys)])


def test_csv_in_cp1252_with_semicolons_and_bom_utf8(db, run_import, tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    _write_csv(folder / "structures.csv", json.loads((DATA / "di-v1-structures.json").read_text()),
               encoding="cp1252", delimiter=";")
    _write_csv(folder / "services.csv", json.loads((DATA / "di-v1-services.json").read_text()),
               encoding="utf-8-sig")
    report = run_import("data-inclusion", folder)
    assert report["rejets"] == []
    assert counts(report, "service")["crees"] == 4
    s = db.scalar(select(Structure).where(Structure.source_id == "emplois-de-linclusion--4711"))
    assert s.nom == "Atelier chantier d'insertion Les Jardins du Soissonnais"
    ccas = db.scalar(select(Structure).where(Structure.source_id == "dora--b7e29a10"))
    assert ccas.adresse == "Place de l'Hôtel de Ville"  # accent survived cp1252


def test_validator_workbook(db, run_import, tmp_path):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in ("structures", "services"):
        records = json.loads((DATA / f"di-v1-{name}.json").read_text())
        keys = sorted({k for r in records for k in r})
        ws = wb.create_sheet(name)
        # Header quirks: capitals and spaces.
        ws.append([k.upper().replace("_", " ") for k in keys])
        for r in records:
            ws.append([",".join(v) if isinstance(v, list) else r.get(k) for k, v in ((k, r.get(k)) for k in keys)])
    path = tmp_path / "validateur.xlsx"
    wb.save(path)
    report = run_import("data-inclusion", path)
    assert report["rejets"] == []
    assert counts(report, "structure")["crees"] == 3
    assert counts(report, "service")["crees"] == 4
    svc = db.scalar(select(Service).where(Service.source_id == "emplois-de-linclusion--svc-88"))
    assert svc.zone_eligibilite == ["02", "60", "80"]
    assert svc.volume_horaire_hebdomadaire == 26
