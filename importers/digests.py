"""An unchanged record recognised before it is normalised (issue #22): the digest of
a record as read, stored when it is written, lets the next import count it
« inchangé » without normalising, validating, placing or writing it.

The digest (BLAKE2b, 16 bytes) is taken over the record as read (its JSON), its
kind, and everything its normalised row depends on: the importer and its options,
the référentiel held for the run (communes, their centres, postal codes, zones) and
the code and libraries that normalise and validate (their files and versions). A
change of any of these gives other digests: every record is then prepared again.

A digest is kept in import_digest (migration 0025) with the version of the row it
produced (its xmin): a row changed since by anything else (a moderator, the
duplicates step, an archive, another import) has another xmin and its record is
prepared again. Only records prepared without any warning, into one row written as
prepared (no place repaired by the contours, no field taken over, no control
character removed, not repeated in the file) get a digest: skipping one changes
nothing in the report but the time. A record is skipped at most once per run
(a second record of the same key is always prepared), and never with a geocoder.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import metadata
from pathlib import Path

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from importers.framing import TABLES, _json_default
from importers.readers import RawRecord

ROOT = Path(__file__).resolve().parent.parent
# What a normalised row depends on, besides the record and the référentiel.
_CODE = ("importers", "catalogue/schemas.py", "catalogue/places.py", "catalogue/vocabulary.py",
         "catalogue/spie_thematiques.json", "geo")
_PACKAGES = ("data-inclusion-schema", "pydantic", "pydantic-core", "email-validator", "marshmallow")

# One entry a digest known: (kind, source, source_id).
Known = dict[bytes, tuple[str, str, str]]


@cache
def code_fingerprint() -> bytes:
    """The text of the code that normalises and validates, and the libraries' versions."""
    h = hashlib.blake2b(digest_size=16)
    for name in _CODE:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.suffix in (".py", ".json", ".yaml")) if path.is_dir() \
            else [path]
        for file in files:
            h.update(str(file.relative_to(ROOT)).encode())
            h.update(file.read_bytes())
    for package in _PACKAGES:
        try:
            h.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            h.update(package.encode())
    return h.digest()


class Digests:
    """The digests of one run: `context` says what the rows depend on besides the
    records (the importer, its options, the référentiel's fingerprint)."""

    def __init__(self, importer: str, options: dict, referentiel: bytes):
        self._base = hashlib.blake2b(digest_size=16)
        self._base.update(code_fingerprint())
        self._base.update(referentiel)
        self._base.update(orjson.dumps([importer, options], default=str, option=orjson.OPT_SORT_KEYS))

    def of(self, record: RawRecord) -> bytes | None:
        """Over the text the record was parsed from when it has it (the same text,
        the same record: half the cost of dumping it again), else over its JSON;
        each marked apart, so that the two never meet."""
        if record.text is not None:
            data, mark = record.text, b"\1"
        else:
            try:
                data, mark = orjson.dumps(record.data, default=_json_default), b"\0"
            except TypeError:
                return None
        h = self._base.copy()
        h.update((record.kind or "").encode() + mark)
        h.update(data)
        return h.digest()


def known(session: Session) -> Known:
    """The digests whose rows are as their import wrote them (the same xmin), with
    no field taken over by a structure."""
    found: Known = {}
    for kind, table in TABLES.items():
        extra = ("AND NOT EXISTS (SELECT 1 FROM taken_over_field f WHERE f.service_id = t.id)"
                 if kind == "service" else "")
        for digest, source, source_id in session.execute(
            text(
                f"SELECT d.digest, d.source, d.source_id FROM import_digest d JOIN {table} t "
                "ON t.source = d.source AND t.source_id = d.source_id "
                f"WHERE d.kind = :kind AND t.xmin::text::bigint = d.row_version {extra}"
            ),
            {"kind": kind},
        ):
            found[bytes(digest)] = (kind, source, source_id)
    return found


def save(session: Session, kind: str, digests: dict[tuple[str, str], bytes]) -> None:
    """Keep the digests of the rows just written (in the batch's transaction), with
    their rows' version."""
    if not digests:
        return
    keys = list(digests)
    session.execute(
        text(
            "INSERT INTO import_digest (kind, source, source_id, digest, row_version) "
            f"SELECT :kind, t.source, t.source_id, k.digest, t.xmin::text::bigint FROM {TABLES[kind]} t "
            "JOIN unnest(CAST(:sources AS text[]), CAST(:ids AS text[]), CAST(:digests AS bytea[])) "
            "AS k(source, id, digest) ON t.source = k.source AND t.source_id = k.id "
            "ON CONFLICT (kind, source, source_id) DO UPDATE SET digest = EXCLUDED.digest, "
            "row_version = EXCLUDED.row_version"
        ),
        {"kind": kind, "sources": [k[0] for k in keys], "ids": [k[1] for k in keys],
         "digests": [digests[k] for k in keys]},
    )
