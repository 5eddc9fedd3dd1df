"""The importers' duplicate suggestions reach the moderation queue, once."""

from __future__ import annotations

from sqlalchemy import select

from catalogue.accounts import ModerationItem
from catalogue.models import Service, Structure
from tests.importers.conftest import DATA
from tests.importers.test_rules import _ndjson, _service


def test_duplicate_suggestions_are_queued_once(db, run_import, tmp_path):
    folder = tmp_path / "di"
    folder.mkdir()
    for name in ("structures", "services"):
        (folder / f"{name}.json").write_bytes((DATA / f"di-v1-{name}.json").read_bytes())
    run_import("data-inclusion", folder)
    assert db.scalars(select(ModerationItem)).all() == []
    other = [
        {"source": "cd02", "id": "cd02-ml", "nom": "Mission Locale Pays de Laon",
         "date_maj": "2025-12-01", "code_insee": "02408", "longitude": 3.6220, "latitude": 49.5662},
        _service(1, structure="cd02-ml", source="cd02", id="cd02-permis",
                 nom="Aide au permis de conduire des jeunes", thematiques=["mobilite--preparer-un-permis"]),
    ]
    path = _ndjson(tmp_path / "cd02.ndjson", other)
    run_import("data-inclusion", path)
    permis = db.scalar(select(Service).where(Service.source_id == "cd02-permis"))
    ml = db.scalar(select(Structure).where(Structure.source_id == "cd02-ml"))
    items = db.scalars(select(ModerationItem).order_by(ModerationItem.id)).all()
    assert {(i.kind, i.service_id, i.structure_id) for i in items} == {
        ("doublon", permis.id, permis.structure_id), ("doublon", None, ml.id)}
    run_import("data-inclusion", path)  # again: nothing new in the queue
    assert len(db.scalars(select(ModerationItem)).all()) == 2
