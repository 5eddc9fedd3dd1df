"""Unchanged records recognised by their digest (importers/digests.py): skipping them
changes nothing but the time — the same counts, warnings, records and quarantine as
preparing them."""

from __future__ import annotations

import json

from sqlalchemy import func, select, text

from catalogue.models import Service
from importers.models import QuarantinedRecord
from tests.importers.conftest import DATA, counts


def _folder(tmp_path, services=None, name="di"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "structures.json").write_bytes((DATA / "di-v1-structures.json").read_bytes())
    if services is None:
        services = json.loads((DATA / "di-v1-services.json").read_text())
    (folder / "services.json").write_text(json.dumps(services, ensure_ascii=False))
    return folder


def _same(report):
    return report["compteurs"], report["avertissements"], report["rejets"]


def test_an_unchanged_import_reports_as_when_every_record_is_prepared(db, run_import, tmp_path):
    folder = _folder(tmp_path)
    run_import("data-inclusion", folder)
    kept = db.scalar(text("SELECT count(*) FROM import_digest"))
    assert kept > 0  # the records prepared without a warning
    skipping = run_import("data-inclusion", folder)
    assert counts(skipping, "structure")["inchanges"] == 3 and counts(skipping, "service")["inchanges"] == 4
    db.execute(text("DELETE FROM import_digest"))
    preparing = run_import("data-inclusion", folder)
    assert _same(skipping) == _same(preparing)


def test_a_record_changed_in_the_catalogue_is_prepared_and_written_again(db, run_import, tmp_path):
    folder = _folder(tmp_path)
    run_import("data-inclusion", folder)
    db.execute(text("UPDATE service SET nom = 'Renommé ici' WHERE source_id = 'dora--svc-0101'"))
    report = run_import("data-inclusion", folder)
    assert counts(report, "service")["modifies"] == 1
    assert db.scalar(select(Service.nom).where(Service.source_id == "dora--svc-0101")) != "Renommé ici"


def test_a_record_back_to_what_was_loaded_resolves_its_quarantine(db, run_import, tmp_path):
    services = json.loads((DATA / "di-v1-services.json").read_text())
    run_import("data-inclusion", _folder(tmp_path, services, "v1"))
    broken = [dict(s, type="inconnu") if s["id"] == "dora--svc-0101" else s for s in services]
    rejected = run_import("data-inclusion", _folder(tmp_path, broken, "v2"))
    assert counts(rejected, "service")["rejetes"] == 1
    back = run_import("data-inclusion", _folder(tmp_path, services, "v3"))
    assert counts(back, "service")["inchanges"] == 4
    open_ = db.scalar(select(func.count()).select_from(QuarantinedRecord).where(
        QuarantinedRecord.record_id == "dora--svc-0101", QuarantinedRecord.resolved_at.is_(None)))
    assert open_ == 0


def test_a_key_repeated_in_the_file_is_prepared_the_last_one_winning(db, run_import, tmp_path):
    services = json.loads((DATA / "di-v1-services.json").read_text())
    run_import("data-inclusion", _folder(tmp_path, services, "v1"))
    first = next(s for s in services if s["id"] == "dora--svc-0101")
    repeated = [*services, dict(first, nom="Aide au permis, nouvelle version")]
    report = run_import("data-inclusion", _folder(tmp_path, repeated, "v2"))
    assert counts(report, "service")["lus"] == 4 and counts(report, "service")["modifies"] == 1
    assert any("en double dans le fichier" in w for w in report["avertissements"])
    assert db.scalar(select(Service.nom).where(Service.source_id == "dora--svc-0101")) \
        == "Aide au permis, nouvelle version"
    # And again: the first copy is known unchanged no more (its row is the second's).
    again = run_import("data-inclusion", _folder(tmp_path, repeated, "v3"))
    assert counts(again, "service")["modifies"] == 0 and counts(again, "service")["lus"] == 4


def _ndjson_folder(tmp_path, name, edit=None):
    """The same fixtures as NDJSON lines (the bulk path: digests over each line's text)."""
    folder = tmp_path / name
    folder.mkdir()
    for kind in ("structures", "services"):
        items = json.loads((DATA / f"di-v1-{kind}.json").read_text())
        if edit is not None:
            items = [edit(kind, item) for item in items]
        (folder / f"{kind}.ndjson").write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n")
    return folder


def test_ndjson_lines_are_recognised_unchanged_and_a_changed_line_is_prepared(db, run_import, tmp_path):
    run_import("data-inclusion", _ndjson_folder(tmp_path, "a"))
    skipping = run_import("data-inclusion", _ndjson_folder(tmp_path, "b"))
    assert counts(skipping, "structure")["inchanges"] == 3 and counts(skipping, "service")["inchanges"] == 4

    def rename(kind, item):
        return {**item, "nom": "Autre nom"} if item.get("id") == "dora--svc-0101" else item

    changed = run_import("data-inclusion", _ndjson_folder(tmp_path, "c", rename))
    assert counts(changed, "service")["modifies"] == 1
    assert db.scalar(select(Service.nom).where(Service.source_id == "dora--svc-0101")) == "Autre nom"


def test_a_digest_over_the_text_read_never_meets_one_over_the_json():
    from importers.digests import Digests
    from importers.readers import RawRecord

    digests = Digests("data-inclusion", {}, b"referentiel")
    line = '{"id": "a", "nom": "Épicerie"}'
    by_text = digests.of(RawRecord(json.loads(line), kind="service", text=line.encode()))
    assert by_text == digests.of(RawRecord(json.loads(line), kind="service", text=line.encode()))
    assert by_text != digests.of(RawRecord(json.loads(line), kind="service"))
    assert by_text != digests.of(RawRecord(json.loads(line), kind="service", text=line.replace("a", "b").encode()))
