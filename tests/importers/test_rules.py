"""Rules of every import: quarantine, snapshot, malformed files, duplicates, CLI."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import func, select

from catalogue.models import AuditLog, Service, Status, Structure
from importers import registry
from importers.errors import FileFormatError
from importers.models import ImportRun, QuarantinedRecord
from tests.importers.conftest import DATA, counts


def _structure(i: int, **extra) -> dict:
    return {"source": "test-src", "id": f"s{i}", "nom": f"Structure numéro {i}",
            "date_maj": "2025-05-01", "code_insee": "02408", **extra}


def _service(i: int, structure: str = "s0", **extra) -> dict:
    return {"source": "test-src", "id": f"v{i}", "structure_id": structure,
            "nom": f"Offre numéro {i}", "description": "Une offre de test réaliste.",
            "date_maj": "2025-05-01", "thematiques": ["mobilite--preparer-un-permis"],
            "publics": ["jeunes"], "code_insee": "02408", **extra}


def _ndjson(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def test_ten_bad_records_among_a_thousand_are_quarantined_with_reasons(db, run_import, tmp_path):
    bad = {
        50: {"thematiques": ["mobilite--voler"]},
        120: {"publics": ["tous-publics", "jeunes"]},
        200: {"zone_eligibilite": ["99999"]},
        310: {"code_insee": "99999"},
        404: {"nom": "AB"},
        505: {"date_maj": "pas une date"},
        606: {"courriel": "pas-un-courriel"},
        707: {"horaires_accueil": "Lundi matin"},
        808: {"structure_id": "inconnue"},
        909: {"longitude": 3.6, "latitude": "nord"},
    }
    records = [_structure(0)] + [
        {**_service(i), **bad.get(i, {})} for i in range(999)
    ]
    report = run_import("data-inclusion", _ndjson(tmp_path / "mille.ndjson", records))
    assert counts(report, "service")["crees"] == 989
    assert counts(report, "structure")["crees"] == 1
    assert counts(report, "service")["rejetes"] == 10
    reasons = {r["id"]: r["motif"] for r in report["rejets"]}
    assert set(reasons) == {f"v{i}" for i in bad}
    assert "mobilite--voler" in reasons["v50"]
    assert "structure inconnue : inconnue" in reasons["v808"]
    assert "commune inconnue : 99999" in reasons["v310"]
    assert reasons["v404"].startswith("nom :")
    assert report["rejets"][0]["ligne"] == 52  # line in the file
    quarantined = db.scalars(select(QuarantinedRecord).where(QuarantinedRecord.run_id == report["run_id"])).all()
    assert len(quarantined) == 10
    assert all(q.raw["id"] == q.record_id for q in quarantined)


def test_quarantined_record_retried_after_a_fix(db, sessions, run_import, tmp_path):
    from importers.retry import retry

    records = [_structure(0), _service(1), _service(2, thematiques=["mobilite--voler"])]
    report = run_import("data-inclusion", _ndjson(tmp_path / "a.ndjson", records))
    q = db.scalar(select(QuarantinedRecord).where(QuarantinedRecord.run_id == report["run_id"]))
    fixed = {**q.raw, "thematiques": ["mobilite--preparer-un-permis"]}
    new_runs = retry(sessions, quarantine_id=q.id, payload=fixed)
    db.expire_all()
    assert db.scalar(select(Service).where(Service.source_id == "v2")) is not None
    assert db.get(QuarantinedRecord, q.id).resolved_run_id == new_runs[0]


def test_snapshot_archives_what_vanished_never_deletes(db, run_import, tmp_path):
    first = [_structure(0)] + [_service(i) for i in range(10)]
    run_import("data-inclusion", _ndjson(tmp_path / "1.ndjson", first))
    # Two of ten: within the share a snapshot may archive without --force (20 %).
    second = [_structure(0)] + [_service(i) for i in range(8)]
    # Without --snapshot, nothing is archived.
    report = run_import("data-inclusion", _ndjson(tmp_path / "2.ndjson", second))
    assert counts(report, "service")["archives"] == 0
    report = run_import("data-inclusion", _ndjson(tmp_path / "2.ndjson", second), snapshot=True)
    assert counts(report, "service")["archives"] == 2
    assert counts(report, "service")["inchanges"] == 8
    gone = db.scalars(select(Service).where(Service.source_id.in_(["v8", "v9"]))).all()
    assert [s.status for s in gone] == [Status.ARCHIVE, Status.ARCHIVE]
    # Other sources are untouched by this source's snapshot.
    assert db.scalar(select(func.count()).select_from(Service).where(Service.status == Status.ARCHIVE)) == 2


def _catalogue_state(db):
    return (
        db.scalar(select(func.count()).select_from(Structure)),
        db.scalar(select(func.count()).select_from(Service)),
        db.scalar(select(func.count()).select_from(AuditLog)),
    )


@pytest.mark.parametrize("name,content", [
    ("tronque.json", None),
    ("vide.json", b""),
    ("tronque.ndjson", None),
    ("sans-feuille.xlsx", None),
    ("binaire.csv", b"\x00\x01\x02garbage"),
])
def test_malformed_files_change_nothing(db, run_import, tmp_path, name, content):
    path = tmp_path / name
    good = [_structure(0)] + [_service(i) for i in range(3)]
    if name == "tronque.json":
        content = json.dumps(good).encode()[:-40]
    elif name == "tronque.ndjson":
        text = "".join(json.dumps(r) + "\n" for r in good)
        content = text[:-25].encode()
    elif name == "sans-feuille.xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active.title = "Feuil1"
        wb.active.append(["id", "nom"])
        wb.save(path)
    if content is not None:
        path.write_bytes(content)
    before = _catalogue_state(db)
    with pytest.raises(FileFormatError) as exc:
        run_import("data-inclusion", path)
    assert _catalogue_state(db) == before
    message = str(exc.value)
    assert path.name in message
    run = db.scalar(select(ImportRun).order_by(ImportRun.id.desc()))
    assert run.status == "echoue" and run.error == message


def test_fifty_megabytes_of_garbage(db, run_import, tmp_path):
    path = tmp_path / "dechets.ndjson"
    with open(path, "wb") as f:
        for _ in range(50):
            f.write(os.urandom(1 << 20))
    before = _catalogue_state(db)
    with pytest.raises(FileFormatError, match="dechets.ndjson"):
        run_import("data-inclusion", path)
    assert _catalogue_state(db) == before


def test_error_messages_are_french_and_clear(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('[{"id": "a"}, {"id": ')
    with pytest.raises(FileFormatError, match="JSON tronqué"):
        registry.prepare("data-inclusion", str(path), tmp_path)
    path.write_text("")
    with pytest.raises(FileFormatError, match="est vide"):
        registry.prepare("data-inclusion", str(path), tmp_path)


def test_duplicates_across_two_sources_are_linked_not_merged(db, run_import, tmp_path):
    # DORA first, then the same structure and offer from another source.
    folder = tmp_path / "di"
    folder.mkdir()
    for name in ("structures", "services"):
        (folder / f"{name}.json").write_bytes((DATA / f"di-v1-{name}.json").read_bytes())
    run_import("data-inclusion", folder)
    other = [
        {"source": "cd02", "id": "cd02-ml", "nom": "Mission Locale Pays de Laon",
         "date_maj": "2025-12-01", "code_insee": "02408", "longitude": 3.6220, "latitude": 49.5662},
        {"source": "cd02", "id": "cd02-ccas", "nom": "CCAS Saint-Quentin", "siret": "21020691200016",
         "date_maj": "2025-12-01", "code_insee": "02691"},
        _service(1, structure="cd02-ml", source="cd02", id="cd02-permis",
                 nom="Aide au permis de conduire des jeunes",
                 thematiques=["mobilite--preparer-un-permis"]),
        _service(2, structure="cd02-ml", source="cd02", id="cd02-autre",
                 nom="Atelier cuisine du mardi", thematiques=["mobilite--preparer-un-permis"]),
    ]
    report = run_import("data-inclusion", _ndjson(tmp_path / "cd02.ndjson", other))
    assert counts(report, "structure")["doublons"] == 2
    assert counts(report, "service")["doublons"] == 1
    ml = db.scalar(select(Structure).where(Structure.source_id == "cd02-ml"))
    dora_ml = db.scalar(select(Structure).where(Structure.source_id == "dora--a3f1c2d4"))
    assert ml.duplicate_of_id == dora_ml.id and 0.8 < ml.duplicate_score <= 1
    ccas = db.scalar(select(Structure).where(Structure.source_id == "cd02-ccas"))
    assert ccas.duplicate_of_id is not None and ccas.duplicate_score >= 0.7  # same SIRET
    permis = db.scalar(select(Service).where(Service.source_id == "cd02-permis"))
    assert permis.duplicate_of_id == db.scalar(select(Service.id).where(Service.source_id == "dora--svc-0101"))
    autre = db.scalar(select(Service).where(Service.source_id == "cd02-autre"))
    assert autre.duplicate_of_id is None
    # Both records remain, published: linked, never merged; the older is not flagged.
    assert dora_ml.duplicate_of_id is None and ml.status == Status.PUBLIE


def test_cli_import_and_report(app, runner_env, tmp_path):
    runner = app.test_cli_runner()
    from web.cli import build_cli

    cli = build_cli()
    path = _ndjson(tmp_path / "cli.ndjson", [_structure(0), _service(1), _service(2, thematiques=["x--y"])])
    result = runner.invoke(cli, ["import", "data-inclusion", str(path)], obj=runner_env)
    assert result.exit_code == 0, result.output
    assert "Offres : 2 lus, 1 créés" in result.output
    assert "service v2" in result.output and "thematiques : valeur inconnue : x--y" in result.output
    run_id = int(result.output.split("Import n° ")[1].split()[0])
    again = runner.invoke(cli, ["import", "report", str(run_id)], obj=runner_env)
    assert again.exit_code == 0 and "Offres : 2 lus, 1 créés" in again.output
    bad = tmp_path / "vide.json"
    bad.write_text("")
    failed = runner.invoke(cli, ["import", "data-inclusion", str(bad)], obj=runner_env)
    assert failed.exit_code != 0 and "est vide" in failed.output
    assert "Le catalogue n'a pas été modifié." in failed.output
