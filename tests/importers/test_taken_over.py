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
