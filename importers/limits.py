"""What one record, one workbook may cost: caps checked before a record is
normalised, control characters removed, a workbook's decompressed size bounded
before it is parsed. Everything here is cheap on an ordinary record (one
comparison); the walk over a record's fields happens only for large ones.

The numbers are in the README (« Limites »).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

from importers.errors import FileFormatError

# One text field: the longest description of the national base is under 10,000
# characters; a CSV cell holding a list of 1,000 zone codes is about 7,000.
MAX_TEXT = 20_000
# One list: the national vocabularies have under 200 thématiques; a zone of
# eligibility larger than 1,000 codes is given as départements or a région.
MAX_LIST = 1_000
# One whole record as read (characters of its JSON line or of its row's cells):
# a Soliguide place with all its services and translations stays under 200 KB.
MAX_RECORD = 1_000_000
# A record of this size or less cannot break the caps above: no field is looked at.
SMALL = min(MAX_TEXT, 2 * MAX_LIST)
# A workbook once decompressed (its sheets, shared strings, styles): 40 columns ×
# 100,000 rows is about 150 MB.
MAX_XLSX_BYTES = 300_000_000
# Quarantined payloads of refused records are shortened to these sizes.
_ABRIDGED_TEXT = 2_000
_ABRIDGED_LIST = 50

# C0 control characters and DEL, except tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same in JSON text as orjson writes it: \u0000-\u001f escaped (\b and \f short),
# DEL as it is (the pattern \\(?:u00[01]|[bf])|\x7f, as five byte searches: a regular
# expression over a batch's megabyte took 30 ms).
_CONTROL_JSON_NEEDLES = (b"\\u000", b"\\u001", b"\\b", b"\\f", b"\x7f")


def _size_text(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def check_record(data: dict, size: int | None) -> dict[str, list[str]] | None:
    """The caps a raw record breaks, by field (None: within them). `size` is the
    record's size as read (None: unknown, the fields are looked at)."""
    if size is not None:
        if size > MAX_RECORD:
            return {"enregistrement": [
                f"trop volumineux ({_size_text(size)} caractères, maximum {_size_text(MAX_RECORD)})"]}
        if size <= SMALL:
            return None
    errors: dict[str, list[str]] = {}
    for key, value in data.items():
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                errors[str(key)] = [
                    f"texte trop long ({_size_text(len(value))} caractères, maximum {_size_text(MAX_TEXT)})"]
        elif isinstance(value, (list, tuple)):
            if len(value) > MAX_LIST:
                errors[str(key)] = [
                    f"liste trop longue ({_size_text(len(value))} éléments, maximum {_size_text(MAX_LIST)})"]
    return errors or None


def abridge(value: Any, depth: int = 0) -> Any:
    """A refused record shortened for the quarantine: long texts and lists cut,
    marked « … »."""
    if isinstance(value, str):
        return value if len(value) <= _ABRIDGED_TEXT else value[:_ABRIDGED_TEXT] + "…"
    if isinstance(value, dict):
        if depth > 20:
            return "…"
        return {str(k)[:200]: abridge(v, depth + 1) for k, v in list(value.items())[:_ABRIDGED_LIST * 4]}
    if isinstance(value, (list, tuple)):
        if depth > 20:
            return "…"
        out = [abridge(v, depth + 1) for v in value[:_ABRIDGED_LIST]]
        if len(value) > _ABRIDGED_LIST:
            out.append(f"… ({len(value) - _ABRIDGED_LIST} éléments de plus)")
        return out
    return value


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def strip_control(value: Any) -> Any:
    """`value` with the control characters of its texts removed (at any depth)."""
    if isinstance(value, str):
        return _CONTROL.sub("", value) if _CONTROL.search(value) else value
    if isinstance(value, dict):
        return {strip_control(k): strip_control(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_control(v) for v in value]
    if isinstance(value, tuple):
        return tuple(strip_control(v) for v in value)
    return value


def fields_with_control(row: dict) -> list[str]:
    """The fields of a row whose text (at any depth) holds a control character."""
    found = []
    for key, value in row.items():
        if strip_control(value) != value:
            found.append(str(key))
    return found


def payload_may_hold_control(payload: bytes) -> bool:
    """Whether the JSON text of a batch (orjson's bytes) may hold a control character.
    A false positive (an escaped backslash before u00, b or f, or \\u0009 for a tab)
    only costs the slow path. Every needle but DEL holds a backslash: a batch without
    any (no escape at all) is settled by two byte scans (memchr), 50 times faster."""
    if b"\\" not in payload:
        return b"\x7f" in payload
    return any(needle in payload for needle in _CONTROL_JSON_NEEDLES)


def check_workbook(path: Path, limit: int = MAX_XLSX_BYTES) -> None:
    """Refuse a workbook whose decompressed size exceeds `limit` before it is parsed:
    first by the sizes its entries declare, then by decompressing every entry in a
    stream, counting (a forged header cannot hide the real size)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            declared = sum(e.file_size for e in entries)
            if declared > limit:
                raise FileFormatError(_too_large(path, declared, limit))
            total = 0
            for entry in entries:
                with archive.open(entry) as stream:
                    while chunk := stream.read(1 << 20):
                        total += len(chunk)
                        if total > limit:
                            raise FileFormatError(_too_large(path, total, limit, streamed=True))
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, ValueError, RuntimeError) as exc:
        raise FileFormatError(f"{path.name} : classeur Excel illisible ({exc.__class__.__name__})") from exc


def _too_large(path: Path, size: int, limit: int, streamed: bool = False) -> str:
    mb = size / 1_000_000
    shown = f"plus de {limit / 1_000_000:.0f}" if streamed else f"{mb:.0f}"
    return (
        f"{path.name} : classeur refusé, {shown} Mo une fois décompressé (maximum "
        f"{limit / 1_000_000:.0f} Mo) — une archive anormale (« bombe zip ») ou un classeur à "
        "découper en plusieurs fichiers"
    )
