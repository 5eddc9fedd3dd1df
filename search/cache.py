"""What a search gives whoever asks, kept per process: the pages of the PostgreSQL
engine and the filter counts of the results pages (search.facet_counts), keyed by
the catalogue's search generation (migration 0025: the sum of search_generation,
grown by the triggers on search_document and search_key at every committed change).

Exact: the generation is read (one indexed read of at most 1,024 small rows) before
each use, and a value is only kept and served under the generation read before it
was computed, so that the very next search after a commit (publish, unpublish, edit,
import) misses the cache and reads the catalogue. A transaction that has itself
written (an id assigned: its changes, maybe rolled back, are not the catalogue's)
bypasses the cache. Each gunicorn worker holds its own cache (SEARCH_CACHE_SIZE
entries, least recently used out; 0 turns it off): measured cheaper than a shared
table, a hit costs the generation's read alone.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

T = TypeVar("T")

GENERATION_SQL = text(
    "SELECT coalesce(sum(n), 0), pg_current_xact_id_if_assigned() IS NULL FROM search_generation"
)


def generation(session: Session) -> int | None:
    """The catalogue's search generation; None when this transaction has written
    (what it sees is not the catalogue's committed state)."""
    value, clean = session.execute(GENERATION_SQL).one()
    return int(value) if clean else None


class SearchCache:
    """A least-recently-used map (generation, day, key) -> value, for one process
    (its threads share it)."""

    def __init__(self, size: int):
        self.size = max(0, int(size))
        self._entries: OrderedDict[tuple, object] = OrderedDict()
        self._generation = -1
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, session: Session, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of `key` under the current generation: kept, or `compute()`d
        (then kept). The day is part of the key (freshness scores count from it)."""
        if not self.size:
            return compute()
        current = generation(session)
        if current is None:
            return compute()
        full = (current, date.today(), key)
        with self._lock:
            if current != self._generation:  # the catalogue changed (or was restored): nothing kept holds
                self._entries.clear()
                self._generation = current
            if full in self._entries:
                self._entries.move_to_end(full)
                self.hits += 1
                return self._entries[full]  # type: ignore[return-value]
            self.misses += 1
        value = compute()
        with self._lock:
            if current == self._generation:
                self._entries[full] = value
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
