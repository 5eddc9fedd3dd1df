"""Workbooks that lie: a wrong <dimension>, rows out of order, a zip bomb, a forged
header — and a snapshot that would archive too much."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from catalogue.models import Service, Status
from importers import limits, registry
from importers.errors import FileFormatError
from importers.models import ImportRun
from importers.snapshot import ArchiveShareExceeded, check_archive_share
from tests.importers.conftest import counts

COLUMNS = ["source", "structure_id", "id", "nom", "description", "date_maj", "thematiques", "code_insee"]


def _workbook(services: int) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    ws = wb.create_sheet("structures")
    ws.append(["source", "id", "nom", "date_maj", "code_insee"])
    ws.append(["cd02-test", "s1", "Centre social de Laon", "2026-01-10", "02408"])
    ws = wb.create_sheet("services")
    ws.append(COLUMNS)
    for i in range(services):
        ws.append(["cd02-test", "s1", f"o{i}", f"Atelier numérique {i}",
                   "Apprendre à se servir d'un ordinateur et d'internet.", "2026-01-10",
                   "numerique--maitriser-les-fondamentaux-du-numerique", "02408"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rewrite_sheet(data: bytes, sheet: str, change) -> bytes:
    """The workbook with one sheet's XML changed (as a faulty generator writes it)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == sheet:
                content = change(content.decode()).encode()
            target.writestr(item, content)
    return out.getvalue()


def test_a_wrong_dimension_hides_no_row(db, run_import, tmp_path):
    """The sheet says A1:AA2 while it holds five offers: all five are read."""
    data = _rewrite_sheet(_workbook(5), "xl/worksheets/sheet2.xml",
                          lambda xml: re.sub(r'<dimension ref="[^"]+"', '<dimension ref="A1:AA2"', xml))
    assert b'ref="A1:AA2"' in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet2.xml")
    path = tmp_path / "dimension.xlsx"
    path.write_bytes(data)
    report = run_import("data-inclusion", path)
    assert counts(report, "service")["lus"] == 5 and counts(report, "service")["crees"] == 5


def test_rows_the_reader_would_skip_stop_the_import(db, tmp_path, sessions):
    """A row written out of order (row 4 after row 7): openpyxl's reader skips it;
    the count of the sheet's XML sees it, and the import stops before writing."""

    def shuffle(xml: str) -> str:
        rows = re.findall(r"<row [^>]*>.*?</row>", xml)
        reordered = rows[:3] + rows[4:] + [rows[3]]
        return xml.replace("".join(rows), "".join(reordered))

    path = tmp_path / "desordre.xlsx"
    path.write_bytes(_rewrite_sheet(_workbook(5), "xl/worksheets/sheet2.xml", shuffle))
    with pytest.raises(FileFormatError) as exc:
        registry.run_import(sessions, "data-inclusion", str(path), tmp_path)
    assert "5 lignes lues pour 6 lignes non vides" in str(exc.value)
    assert db.scalar(select(func.count()).select_from(Service)) == 0
    run = db.get(ImportRun, exc.value.run_id)
    assert run.status == "echoue" and "import arrêté" in run.error


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    """0.4 MB on disk, 400 MB of shared strings once decompressed."""
    data = _workbook(1)
    source = zipfile.ZipFile(io.BytesIO(data))
    path = tmp_path_factory.mktemp("bomb") / "offres.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in source.infolist():
            out.writestr(item, source.read(item.filename))
        with out.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            f.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                    b'count="1" uniqueCount="1"><si><t>')
            chunk = b"A" * (1 << 20)
            for _ in range(400):
                f.write(chunk)
            f.write(b"</t></si></sst>")
    return path


def test_a_zip_bomb_is_refused_before_it_is_parsed(db, zip_bomb, sessions, tmp_path):
    assert zip_bomb.stat().st_size < 1_000_000
    with pytest.raises(FileFormatError) as exc:
        registry.run_import(sessions, "data-inclusion", str(zip_bomb), tmp_path)
    message = str(exc.value)
    assert "classeur refusé, 419 Mo une fois décompressé (maximum 300 Mo)" in message
    assert "bombe zip" in message


def test_a_forged_size_is_caught_by_the_stream(tmp_path):
    """An entry declaring less than it holds: the streamed check reads it and refuses
    the workbook (its checksum fails), before openpyxl parses anything."""
    data = bytearray(_workbook(3))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("xl/worksheets/sheet2.xml")
    # The entry of the central directory (after its name's last occurrence): the
    # uncompressed size is at offset 24 of its header.
    header = data.rfind(b"PK\x01\x02", 0, data.rfind(b"xl/worksheets/sheet2.xml"))
    data[header + 24:header + 28] = (info.file_size // 2).to_bytes(4, "little")
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet2.xml").file_size < info.file_size
    path = tmp_path / "forge.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError) as exc:
        limits.check_workbook(path)
    assert "classeur Excel illisible (BadZipFile)" in str(exc.value)


def test_a_snapshot_that_would_archive_most_of_a_source_stops(db, run_import, tmp_path, sessions):
    full = tmp_path / "complet.xlsx"
    full.write_bytes(_workbook(10))
    run_import("data-inclusion", full)
    # A truncated export: 3 offers of 10.
    partial = tmp_path / "tronque.xlsx"
    partial.write_bytes(_workbook(3))
    with pytest.raises(ArchiveShareExceeded) as exc:
        registry.run_import(sessions, "data-inclusion", str(partial), tmp_path, snapshot=True)
    assert "il archiverait 7 offres sur 10 (70%) de la source cd02-test, plus que les 20% permis" in str(exc.value)
    assert "--force" in str(exc.value)
    assert db.scalar(select(func.count()).select_from(Service).where(Service.status == Status.ARCHIVE)) == 0
    run = db.get(ImportRun, exc.value.run_id)
    assert run.status == "termine" and "instantané refusé" in run.error
    assert run.report["compteurs"]["service"]["inchanges"] == 3
    # A share given as a setting; then --force.
    report = run_import("data-inclusion", partial, snapshot=True, max_archive_share=0.8)
    assert counts(report, "service")["archives"] == 7


def test_force_archives_beyond_the_share(db, run_import, tmp_path):
    full = tmp_path / "complet.xlsx"
    full.write_bytes(_workbook(4))
    run_import("data-inclusion", full)
    partial = tmp_path / "reduit.xlsx"
    partial.write_bytes(_workbook(1))
    report = run_import("data-inclusion", partial, snapshot=True, force=True)
    assert counts(report, "service")["archives"] == 3


def test_the_guard_alone_for_other_importers(db, run_import, tmp_path):
    full = tmp_path / "complet.xlsx"
    full.write_bytes(_workbook(5))
    run_import("data-inclusion", full)
    seen = [("cd02-test", f"o{i}") for i in range(4)]
    assert check_archive_share(db, "service", seen) == (1, 5)
    with pytest.raises(ArchiveShareExceeded):
        check_archive_share(db, "service", seen[:2])
    assert check_archive_share(db, "service", seen[:2], force=True) == (3, 5)


def test_cli_snapshot_refused_then_forced(app, runner_env, db, tmp_path):
    from web.cli import build_cli

    cli, runner = build_cli(), app.test_cli_runner()
    full, partial = tmp_path / "complet.xlsx", tmp_path / "tronque.xlsx"
    full.write_bytes(_workbook(5))
    partial.write_bytes(_workbook(2))
    assert runner.invoke(cli, ["import", "data-inclusion", str(full)], obj=runner_env).exit_code == 0
    refused = runner.invoke(cli, ["import", "data-inclusion", str(partial), "--snapshot"], obj=runner_env)
    assert refused.exit_code == 1
    assert "il archiverait 3 offres sur 5" in refused.output and "relancez avec --force" in refused.output
    assert "Le catalogue n'a pas été modifié" not in refused.output  # the records read were loaded
    forced = runner.invoke(cli, ["import", "data-inclusion", str(partial), "--snapshot", "--force"],
                           obj=runner_env)
    assert forced.exit_code == 0, forced.output
    assert "3 archivés" in forced.output
