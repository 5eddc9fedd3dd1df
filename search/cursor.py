"""Keyset cursors: opaque, tied to one search, carrying the last row's sort key.

Rows are ordered by (sort key, id) ascending; the next page starts strictly after
the last row, so rows inserted or removed meanwhile never cause a duplicate or a
gap among the rows that were there. The cursor also freezes the reference date of
freshness, so a row's sort key cannot drift while a consumer walks the pages.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date

from search.contract import SearchQuery
from search.errors import InvalidQuery

_PAGING_FIELDS = {"page", "size", "cursor", "with_facets"}


def query_fingerprint(query: SearchQuery) -> str:
    """Identity of a search, page and size aside."""
    data = {
        f.name: getattr(query, f.name)
        for f in dataclasses.fields(query)
        if f.name not in _PAGING_FIELDS
    }
    blob = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cursor:
    key: str  # the sort key as a decimal string (exact)
    id: uuid.UUID
    fingerprint: str
    reference_date: date

    def encode(self) -> str:
        raw = json.dumps(
            {"k": self.key, "i": str(self.id), "f": self.fingerprint, "d": self.reference_date.isoformat()},
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(value: str, query: SearchQuery) -> Cursor:
    """The cursor, checked against the query; InvalidQuery("cursor", …) otherwise."""
    try:
        padded = value + "=" * (-len(value) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor = Cursor(
            key=str(data["k"]),
            id=uuid.UUID(data["i"]),
            fingerprint=str(data["f"]),
            reference_date=date.fromisoformat(data["d"]),
        )
        float(cursor.key)
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidQuery("cursor", "curseur illisible : reprenez la recherche depuis la première page") from None
    if cursor.fingerprint != query_fingerprint(query):
        raise InvalidQuery("cursor", "ce curseur appartient à une autre recherche (filtres ou tri différents)")
    return cursor
