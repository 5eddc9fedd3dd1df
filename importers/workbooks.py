"""Reading workbooks (XLSX) into raw records, streamed (importers.readers reads the
other formats and does the framing pass): the sheets, the workbook's date, the
cells as text (as the sheet shows them), the rows really filled."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from importers import limits
from importers.errors import FileFormatError
from importers.readers import FileInfo, RawRecord, _kind_from_name, _rows_to_records

# Workbooks whose decompressed size was checked: (path, size, mtime).
_CHECKED: set[tuple[str, int, int]] = set()


def _open_workbook(path: Path):
    """The workbook in read-only mode (streamed), once its decompressed size has been
    checked (limits.check_workbook). defusedxml, installed, keeps openpyxl's parser
    away from XML entity expansion."""
    import openpyxl

    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _CHECKED:
        limits.check_workbook(path)
        _CHECKED.add(key)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileFormatError(f"{path.name} : classeur Excel illisible ({exc.__class__.__name__})") from exc


def sheet_names(path: Path) -> list[str]:
    wb = _open_workbook(path)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def workbook_date(path: Path) -> date | None:
    """The date the workbook says it was last saved (dcterms:modified of
    docProps/core.xml), None when it says nothing (openpyxl would answer « now »)."""
    from defusedxml.ElementTree import fromstring

    try:
        with zipfile.ZipFile(path) as archive:
            core = fromstring(archive.read("docProps/core.xml"))
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, SyntaxError):
        return None
    found = core.find("{http://purl.org/dc/terms/}modified")
    try:
        return datetime.fromisoformat(found.text.strip().replace("Z", "+00:00")).date()
    except (AttributeError, ValueError):
        return None


_ZERO_PADDED = re.compile(r"^0+$")


def cell_text(value, number_format: str | None):
    """A number as the text Excel displays (59350, never 59350.0; 02000 in a cell
    formatted « 00000 »); dates and texts as they are."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        text = str(int(value)) if value.is_integer() and abs(value) < 1e16 else format(value, ".15g")
    else:
        text = str(value)
    if number_format and _ZERO_PADDED.match(number_format) and text.isdigit():
        text = text.zfill(len(number_format))
    return text


def _row_texts(cells) -> tuple:
    return tuple(
        cell_text(c.value, getattr(c, "number_format", None)) if isinstance(c.value, (int, float)) else c.value
        for c in cells
    )


def _filled_rows(wb, ws) -> int | None:
    """The rows of a sheet that hold a value, counted in its XML (not through the
    sheet's <dimension>, which openpyxl trusts in read-only mode)."""
    from defusedxml.ElementTree import iterparse

    sheet_path = getattr(ws, "_worksheet_path", None)
    if not sheet_path:
        return None
    empty_strings = {i for i, t in enumerate(getattr(wb, "shared_strings", []) or []) if not str(t).strip()}
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    count, filled = 0, False
    with wb._archive.open(sheet_path) as stream:
        for _event, element in iterparse(stream, events=("end",)):
            tag = element.tag
            if tag == f"{ns}c":
                if not filled:
                    v = element.find(f"{ns}v")
                    if v is not None and v.text not in (None, ""):
                        if element.get("t") == "s":
                            filled = int(v.text) not in empty_strings
                        elif element.get("t") in ("str", "inlineStr"):
                            filled = bool(v.text.strip())
                        else:
                            filled = True
                    else:
                        inline = element.find(f"{ns}is")
                        if inline is not None:
                            filled = any((t.text or "").strip() for t in inline.iter(f"{ns}t"))
                element.clear()
            elif tag == f"{ns}row":
                count += filled
                filled = False
                element.clear()
    return count


def iter_xlsx(path: Path, sheets: list[str] | None = None, info: FileInfo | None = None,
              verify: bool = False) -> Iterator[RawRecord]:
    """Rows of the named sheets (all by default), in that order; a sheet named like
    'structures' or 'services' gives the kind of its rows. The sheets' declared
    dimensions are ignored (a wrong one would hide rows); with `verify`, the rows
    read are counted against the sheet's XML and a difference stops the import."""
    wb = _open_workbook(path)
    try:
        for name in sheets or wb.sheetnames:
            if name not in wb.sheetnames:
                raise FileFormatError(f"{path.name} : la feuille « {name} » est absente")
            kind = _kind_from_name(Path(name))
            ws = wb[name]
            ws.reset_dimensions()
            read = [0]

            def rows(ws=ws, read=read):
                for cells in ws.iter_rows():
                    values = _row_texts(cells)
                    if any(v is not None and (not isinstance(v, str) or v.strip()) for v in values):
                        read[0] += 1
                    yield values

            yield from _rows_to_records(rows(), f"{path.name}, feuille « {name} »", kind, info, name)
            if verify:
                expected = _filled_rows(wb, ws)
                if expected is not None and expected != read[0]:
                    raise FileFormatError(
                        f"{path.name}, feuille « {name} » : {read[0]} lignes lues pour {expected} "
                        "lignes non vides dans le classeur — classeur incohérent, import arrêté "
                        "(enregistrez-le à nouveau depuis votre tableur)"
                    )
    finally:
        wb.close()
