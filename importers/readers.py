"""Reading files into raw records, streamed: JSON arrays, NDJSON, CSV, XLSX (the
workbooks: importers.workbooks).

`inspect` is the framing pass: it reads the whole file once (streamed, bounded
memory) and raises FileFormatError for any file-level problem — empty, truncated
JSON, a line that is not JSON, undecodable text, binary garbage, a missing sheet —
before the loader writes anything. It also counts the records (the progress bar).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import orjson

from geo.names import fold
from importers import limits
from importers.errors import FileFormatError

CHUNK = 1 << 16
# The text of one element of a JSON array held while it is parsed: far above the
# record cap (limits.MAX_RECORD, checked after), far below the memory of a host.
_MAX_PENDING = 16 * limits.MAX_RECORD
FORMATS = ("json", "ndjson", "csv", "xlsx")
# Keys under which APIs wrap their list of records (Soliguide: places; DORA: results).
LIST_KEYS = ("places", "results", "data", "items", "services", "structures")


@dataclass
class RawRecord:
    """A record as read. `kind` is set when the container says it (a sheet or a
    file named structures/services); `line` locates it in the file (1-based)."""

    data: dict
    kind: str | None = None
    line: int | None = None
    # Characters read for it (its JSON text, its cells): the record caps are checked
    # on it before anything else (None: unknown, its fields are looked at).
    size: int | None = None
    # The text it was parsed from when that alone makes it (an NDJSON line), UTF-8:
    # its digest is taken over it (importers.digests) instead of its JSON dumped again.
    text: bytes | None = None


@dataclass
class FileInfo:
    path: Path
    format: str
    encoding: str = "utf-8"
    delimiter: str = ","
    count: int = 0
    sheets: list[str] = field(default_factory=list)
    kind: str | None = None  # from the file name (structures.csv, services.ndjson)
    # Column titles of a table (normalised), per sheet ("" for a CSV): filled by inspect.
    headers: dict[str, list[str]] = field(default_factory=dict)
    # Columns titled twice (per sheet): the first non-empty cell is read.
    duplicated: dict[str, list[str]] = field(default_factory=dict)
    # The file's date: the workbook's « modified » property, else the file's.
    modified: date | None = None


def normalise_header(name: str) -> str:
    """'  Code Postal ' -> 'code_postal'; 'Téléphone' -> 'telephone' (geo.names.fold,
    words joined by "_")."""
    return fold(name).replace(" ", "_")


def fetch(location: str, workdir: Path) -> Path:
    """A local path for `location`: itself, or a URL downloaded (streamed) to workdir."""
    if re.match(r"^https?://", location):
        target = workdir / (Path(location.split("?")[0]).name or "telechargement")
        try:
            with urllib.request.urlopen(location, timeout=60) as response, open(target, "wb") as out:
                shutil.copyfileobj(response, out, CHUNK)
        except OSError as exc:
            raise FileFormatError(f"téléchargement impossible de {location} : {exc}") from exc
        return target
    path = Path(location)
    if not path.exists():
        raise FileFormatError(f"fichier introuvable : {location}")
    return path


def _kind_from_name(path: Path) -> str | None:
    stem = normalise_header(path.stem)
    if "structure" in stem:
        return "structure"
    if "service" in stem:
        return "service"
    return None


def detect_format(path: Path) -> str:
    """The format of the file, from its first bytes (then its extension for CSV)."""
    with open(path, "rb") as f:
        head = f.read(CHUNK)
    if not head.strip():
        raise FileFormatError(f"le fichier {path.name} est vide")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:1] == b"[":
        return "json"
    if text[:1] == b"{":
        first_line = text.split(b"\n", 1)[0].strip()
        try:
            json.loads(first_line)
            return "ndjson" if b"\n" in text.strip() or path.suffix in (".ndjson", ".jsonl") else "json"
        except ValueError:
            return "json"
    if b"\x00" in head:
        raise FileFormatError(
            f"le fichier {path.name} n'est ni du JSON, ni du NDJSON, ni du CSV, ni un classeur Excel "
            "(contenu binaire)"
        )
    if path.suffix.lower() in (".json", ".ndjson", ".jsonl"):
        raise FileFormatError(
            f"le fichier {path.name} n'est pas du JSON valide : il devrait commencer par « [ » ou « {{ »"
        )
    return "csv"


def _encoding(path: Path) -> str:
    """utf-8-sig (BOM), utf-8, or cp1252 — checked on the whole file, streamed."""
    with open(path, "rb") as f:
        if f.read(3) == codecs.BOM_UTF8:
            candidates = ["utf-8-sig"]
        else:
            candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise FileFormatError(
        f"le fichier {path.name} n'est pas un texte lisible (encodage attendu : UTF-8 ou Windows-1252)"
    )


# --- JSON -------------------------------------------------------------------


def _iter_json_array(f: io.TextIOBase, name: str) -> Iterator[dict]:
    """Items of a top-level JSON array, parsed object by object (bounded memory)."""
    decoder = json.JSONDecoder()
    buf = f.read(CHUNK).lstrip()
    if buf.startswith("\ufeff"):
        buf = buf[1:].lstrip()
    if not buf.startswith("["):
        raise FileFormatError(f"{name} : un tableau JSON « [ … ] » est attendu")
    buf, pos, index, eof = buf[1:], 0, 0, False
    while True:
        # Skip separators; stop at the closing bracket.
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,":
                pos += 1
            if pos < len(buf) or eof:
                break
            buf, pos = f.read(CHUNK), 0
            eof = not buf
        if pos >= len(buf):
            raise FileFormatError(f"{name} : JSON tronqué (le tableau n'est pas refermé par « ] »)")
        if buf[pos] == "]":
            rest = (buf[pos + 1 :] + f.read()).strip()
            if rest:
                raise FileFormatError(f"{name} : contenu inattendu après la fin du tableau JSON")
            return
        while True:
            try:
                obj, end = decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as exc:
                if len(buf) - pos > _MAX_PENDING:
                    raise FileFormatError(
                        f"{name} : l'élément {index + 1} du tableau dépasse "
                        f"{_MAX_PENDING // 1_000_000} Mo (JSON invalide ou enregistrement démesuré)"
                    ) from exc
                more = f.read(CHUNK)
                if not more:
                    raise FileFormatError(
                        f"{name} : JSON tronqué ou invalide après l'élément {index} ({exc.msg})"
                    ) from exc
                buf, pos = buf[pos:] + more, 0
        index += 1
        if not isinstance(obj, dict):
            raise FileFormatError(f"{name} : l'élément {index} du tableau n'est pas un objet JSON")
        yield obj, end - pos
        buf, pos = buf[end:], 0


def iter_json(path: Path, encoding: str) -> Iterator[RawRecord]:
    with open(path, encoding=encoding) as f:
        head = f.read(CHUNK).lstrip("\ufeff \t\r\n")
        f.seek(0)
        if head.startswith("["):
            for i, (obj, size) in enumerate(_iter_json_array(f, path.name), start=1):
                yield RawRecord(obj, line=i, size=size)
            return
        # A wrapping object (an API page): small enough to load whole.
        try:
            data = json.load(f)
        except json.JSONDecodeError as exc:
            raise FileFormatError(f"{path.name} : JSON tronqué ou invalide ({exc.msg}, ligne {exc.lineno})") from exc
    if not isinstance(data, dict):
        raise FileFormatError(f"{path.name} : un tableau ou un objet JSON est attendu")
    found = False
    for key in LIST_KEYS:
        items = data.get(key)
        if isinstance(items, list):
            found = True
            kind = {"structures": "structure", "services": "service"}.get(key)
            for i, obj in enumerate(items, start=1):
                if not isinstance(obj, dict):
                    raise FileFormatError(f"{path.name} : l'élément {i} de « {key} » n'est pas un objet")
                # Its size as JSON text, for the record cap (an API page: not the bulk path).
                yield RawRecord(obj, kind=kind, line=i, size=len(orjson.dumps(obj)))
    if not found:
        yield RawRecord(data, line=1, size=len(orjson.dumps(data)))


def iter_ndjson(path: Path, encoding: str) -> Iterator[RawRecord]:
    with open(path, encoding=encoding) as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            if len(line) > limits.MAX_RECORD:  # not parsed: the loader quarantines it
                yield RawRecord({"_extrait": line[:2000]}, line=number, size=len(line))
                continue
            try:
                obj = orjson.loads(line)  # several times faster than json, same errors
            except json.JSONDecodeError as exc:
                raise FileFormatError(
                    f"{path.name}, ligne {number} : ce n'est pas un objet JSON ({exc.msg}) — fichier tronqué ?"
                ) from exc
            if not isinstance(obj, dict):
                raise FileFormatError(f"{path.name}, ligne {number} : un objet JSON est attendu")
            # orjson has just made the line's UTF-8 (kept by the str): encode copies it
            yield RawRecord(obj, line=number, size=len(line), text=line.encode("utf-8"))


# --- CSV ----------------------------------------------------------------------


def _delimiter(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, newline="") as f:
        sample = f.read(CHUNK)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        if counts[best] == 0:
            return ","
        return best


IGNORE_COLUMN = "__ignore__"
# Values of an `__ignore__` cell that do not flag the row.
_NOT_IGNORED = frozenset(("", "false", "faux", "non", "no", "0"))


def _flagged(value) -> bool:
    if value is None or value is False:
        return False
    return str(value).strip().lower() not in _NOT_IGNORED


def _rows_to_records(rows, name: str, kind: str | None, info: FileInfo | None = None,
                     sheet: str = "") -> Iterator[RawRecord]:
    """Records of a table. A first column titled `__ignore__` (the national
    template) flags the rows to skip: its description and example rows. A column
    titled twice is read once (its first non-empty cell)."""
    header = None
    ignore = -1  # index of the __ignore__ column
    duplicated: dict[str, list[int]] = {}
    for number, row in enumerate(rows, start=1):
        if header is None:
            cells = [normalise_header(c) for c in row]
            if not any(cells):
                continue
            raw = [str(c).strip() if c is not None else "" for c in row]
            ignore = raw.index(IGNORE_COLUMN) if IGNORE_COLUMN in raw else -1
            if ignore >= 0:
                cells[ignore] = ""
            header = cells
            if len(set(c for c in header if c)) < 2:
                raise FileFormatError(
                    f"{name} : la ligne d'en-tête ne nomme pas de colonnes reconnaissables"
                )
            seen: dict[str, int] = {}
            for i, c in enumerate(header):
                if c and c in seen:
                    duplicated.setdefault(c, [seen[c]]).append(i)
                    header[i] = ""
                seen.setdefault(c, i)
            if info is not None:
                info.headers[sheet] = [c for c in header if c]
                if duplicated:
                    info.duplicated[sheet] = sorted(duplicated)
            continue
        values = ["" if v is None else v for v in row]
        if not any(str(v).strip() for v in values):
            continue
        if 0 <= ignore < len(values) and _flagged(row[ignore]):
            continue
        if len(values) > len(header) and any(str(v).strip() for v in values[len(header):]):
            raise FileFormatError(
                f"{name}, ligne {number} : {len(values)} colonnes pour {len(header)} dans l'en-tête "
                "(séparateur ou guillemets incorrects ?)"
            )
        record = {h: v for h, v in zip(header, values, strict=False) if h}
        for column, indexes in duplicated.items():
            for i in indexes:
                value = values[i] if i < len(values) else ""
                if str(value).strip():
                    record[column] = value
                    break
        try:
            size = sum(map(len, values))  # a CSV row: texts only
        except TypeError:  # a workbook's row: dates, booleans
            size = sum(len(v) for v in values if isinstance(v, str))
        yield RawRecord(record, kind=kind, line=number, size=size)
    if header is None:
        raise FileFormatError(f"{name} : aucune ligne d'en-tête")


def iter_csv(path: Path, encoding: str, delimiter: str, kind: str | None = None,
             info: FileInfo | None = None) -> Iterator[RawRecord]:
    with open(path, encoding=encoding, newline="") as f:
        try:
            yield from _rows_to_records(csv.reader(f, delimiter=delimiter), path.name, kind, info)
        except csv.Error as exc:
            raise FileFormatError(f"{path.name} : CSV illisible ({exc})") from exc


# --- the framing pass --------------------------------------------------------


def inspect(path: Path, sheets: list[str] | None = None, fmt: str | None = None) -> FileInfo:
    """Detect format, encoding and delimiter, then read every record once to check
    the framing and count them. Raises FileFormatError; writes nothing."""
    from importers.workbooks import sheet_names, workbook_date  # it imports this module

    fmt = fmt or detect_format(path)
    info = FileInfo(path=path, format=fmt, kind=_kind_from_name(path))
    if fmt == "xlsx":
        info.sheets = sheets or sheet_names(path)
        info.modified = workbook_date(path)
    else:
        info.encoding = _encoding(path)
        if fmt == "csv":
            info.delimiter = _delimiter(path, info.encoding)
    if info.modified is None:
        info.modified = datetime.fromtimestamp(path.stat().st_mtime).date()
    count = 0
    for _ in iter_records(info, verify=True):
        count += 1
    if count == 0:
        raise FileFormatError(f"le fichier {path.name} ne contient aucun enregistrement")
    info.count = count
    return info


def iter_records(info: FileInfo, verify: bool = False) -> Iterator[RawRecord]:
    """The file's records; `verify` (the framing pass) also checks that a workbook's
    rows were all read and notes the tables' column titles in `info`."""
    from importers.workbooks import iter_xlsx  # it imports this module

    if info.format == "json":
        records = iter_json(info.path, info.encoding)
    elif info.format == "ndjson":
        records = iter_ndjson(info.path, info.encoding)
    elif info.format == "csv":
        records = iter_csv(info.path, info.encoding, info.delimiter, info.kind, info if verify else None)
    else:
        records = iter_xlsx(info.path, info.sheets, info if verify else None, verify=verify)
    for record in records:
        if record.kind is None and info.kind is not None:
            record.kind = info.kind
        yield record


def workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="offre-import-")
