"""Fields a structure took over are no longer overwritten by imports."""

from __future__ import annotations

import json

from sqlalchemy import select

from catalogue import takeover
from catalogue.models import Service
from tests.importers.conftest import DATA, counts


def _folder(tmp_path):
    folder = tmp_path / "di"
    folder.mkdir()
    for name in ("structures", "services"):
        (folder / f"{name}.json").write_bytes((DATA / f"di-v1-{name}.json").read_bytes())
    return folder


def test_taken_over_fields_survive_reimport_others_follow_the_source(db, run_import, tmp_path):
    folder = _folder(tmp_path)
    run_import("data-inclusion", folder)
    svc = db.scalar(select(Service).where(Service.source_id == "dora--svc-0101"))
    assert takeover.is_imported(svc)
    # The structure edits the name and the phone itself.
    svc.nom = "Permis B : aide de la structure"
    svc.telephone = "03 23 00 00 00"
    takeover.record(db, svc, {"nom": svc.nom, "telephone": svc.telephone})
    db.commit()

    services = json.loads((folder / "services.json").read_text())
    first = next(s for s in services if s["id"].endswith("svc-0101"))
    first["nom"] = "Nom changé par la source"
    first["telephone"] = "01 02 03 04 05"
    first["description"] = "Description changée par la source, elle, non reprise."
    (folder / "services.json").write_text(json.dumps(services, ensure_ascii=False))
    report = run_import("data-inclusion", folder)
    assert report["status"] == "termine"
    db.expire_all()
    svc = db.get(Service, svc.id)
    assert svc.nom == "Permis B : aide de la structure"
    assert svc.telephone == "03 23 00 00 00"
    assert svc.description == "Description changée par la source, elle, non reprise."
    assert counts(report, "service")["modifies"] == 1

    # Once more unchanged: nothing is written (the taken-over values compare equal).
    again = run_import("data-inclusion", folder)
    assert counts(again, "service")["modifies"] == 0


def test_repaired_place_applies_beside_taken_over_fields_which_win(db, run_import, tmp_path):
    """A service with a point whose commune the writer repairs (the upsert applies
    the repair): alone, and beside fields the structure took over (its own commune
    stays, the other fields follow the source)."""
    folder = _folder(tmp_path)
    services = json.loads((folder / "services.json").read_text())
    first = next(s for s in services if s["id"].endswith("svc-0101"))
    second = next(s for s in services if s["id"] != first["id"] and s.get("longitude") is not None)
    for record in (first, second):  # Paris as the commune, a point in its 3e
        record.update(code_insee="75056", code_postal="75003", commune="Paris", longitude=2.3628, latitude=48.8637)
    (folder / "services.json").write_text(json.dumps(services, ensure_ascii=False))
    report = run_import("data-inclusion", folder)
    assert report["rejets"] == []
    svc = db.scalar(select(Service).where(Service.source_id == first["id"]))
    assert (svc.code_insee, svc.code_postal, svc.commune) == ("75103", "75003", "Paris")
    svc.code_insee, svc.commune = "02408", "Laon"
    takeover.record(db, svc, {"code_insee": svc.code_insee, "commune": svc.commune})
    db.commit()
    first["nom"] = "Nom changé par la source"
    (folder / "services.json").write_text(json.dumps(services, ensure_ascii=False))
    report = run_import("data-inclusion", folder)
    db.expire_all()
    svc = db.get(Service, svc.id)
    assert (svc.code_insee, svc.commune, svc.nom) == ("02408", "Laon", "Nom changé par la source")
    other = db.scalar(select(Service).where(Service.source_id == second["id"]))
    assert (other.code_insee, other.commune) == ("75103", "Paris")
