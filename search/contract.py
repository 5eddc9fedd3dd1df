"""The SearchBackend contract: what every engine takes and returns.

Backends return ids, scores and distances; pages and the API load rows from the
catalogue, so nothing a person sees depends on which engine answered. A backend
never ignores a filter it cannot apply: it raises UnsupportedFilter.

Engines are reached through search.service (its registry, ENGINES): each class
also has a classmethod `connect(options)` giving a function session -> engine.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


class Sort(enum.StrEnum):
    PERTINENCE = "pertinence"
    DISTANCE = "distance"
    FRAICHEUR = "fraicheur"


DEFAULT_RADIUS_KM = 50
MAX_PAGE_SIZE = 500

# Facets computed for every search (name -> what it counts).
FACETS = (
    "thematiques_spie",
    "categories",
    "thematiques",
    "publics",
    "frais",
    "types",
    "modes_accueil",
    "sources",
)


@dataclass(frozen=True)
class SearchQuery:
    """One search. Units: radius in km, point as (lon, lat) in WGS84.

    `thematiques` may hold thematiques, data·inclusion categories or SPIE group
    codes (each matches all its thematiques). A public also matches `tous-publics`.
    Filters combine with AND across fields and OR within a field.
    `cursor` (opaque, from SearchPage.next_cursor) takes precedence over `page`.
    """

    text: str | None = None
    code_commune: str | None = None
    point: tuple[float, float] | None = None
    radius_km: float = DEFAULT_RADIUS_KM
    thematiques: tuple[str, ...] = ()
    publics: tuple[str, ...] = ()
    frais: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    modes_accueil: tuple[str, ...] = ()
    mobilisable_par: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    structure: uuid.UUID | None = None
    territory: str | None = None  # territory slug
    open_at: datetime | None = None  # naive local time (Europe/Paris)
    hide_duplicates: bool = True
    published_only: bool = True
    sort: Sort = Sort.PERTINENCE
    page: int = 1
    size: int = 20
    cursor: str | None = None
    with_facets: bool = True


@dataclass(frozen=True)
class Hit:
    id: uuid.UUID
    score: float
    distance_m: float | None  # None for remote services (and when no place is searched)


@dataclass(frozen=True)
class SearchPage:
    hits: tuple[Hit, ...]
    total: int
    page: int
    size: int
    next_cursor: str | None = None
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    # The thematiques the free text matched (for the anonymous search log).
    matched_thematiques: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceDocument:
    """What an engine indexes for one service (built from the catalogue)."""

    id: uuid.UUID
    data: dict


@runtime_checkable
class SearchBackend(Protocol):
    def search(self, query: SearchQuery) -> SearchPage: ...

    def index(self, documents: Iterable[ServiceDocument]) -> None: ...

    def delete(self, ids: Iterable[uuid.UUID]) -> None: ...

    def rebuild(self, documents: Iterable[ServiceDocument]) -> int:
        """Rebuild the whole index from `documents` (readers see the old one until
        it is done); returns the number of documents indexed."""
        ...

    def check(self) -> None: ...
