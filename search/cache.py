"""What a search gives whoever asks: the pages of the PostgreSQL engine, the API's
encoded answers and the filter counts of the results pages (search.facet_counts),
keyed by the catalogue's search generation (migration 0025: the sum of
search_generation, grown by the triggers on search_document and search_key at every
committed change) and the day (freshness scores count from it).

Exact: the generation is read (one indexed read of at most 1,024 small rows) before
each use, and a value is only kept and served under the generation read before it
was computed, so that the very next search after a commit (publish, unpublish, edit,
import) misses the cache and reads the catalogue. A transaction that has itself
written (an id assigned: its changes, maybe rolled back, are not the catalogue's)
bypasses the cache.

Two levels. Each gunicorn worker keeps what it used last (SEARCH_CACHE_SIZE entries,
least recently used out; 0 turns the cache off): a hit costs the generation's read
alone. Behind it, the workers share the UNLOGGED table search_cache_entry (migration
0029, SEARCH_SHARED_CACHE_SIZE rows; 0: not shared): a search computed by one worker
is read by the others (one indexed read and the unpickling of its value) instead of
computed again. Its rows are written on a connection of their own, in autocommit
(the request's transaction stays read-only), and are keyed by the digest of the key
and of the code (a value of another version of the application is never read);
values are pickled: the table is the application's own, as the rest of its database.
Threads of a worker (gunicorn --threads) share its cache; a write takes a second
connection of the pool for a moment.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from functools import cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

T = TypeVar("T")
logger = logging.getLogger(__name__)

GENERATION_SQL = "SELECT coalesce(sum(n), 0), pg_current_xact_id_if_assigned() IS NULL FROM search_generation"
READ_SQL = text("SELECT value FROM search_cache_entry WHERE generation = :g AND day = :d AND digest = :k")
WRITE_SQL = text("INSERT INTO search_cache_entry (generation, day, digest, value) VALUES (:g, :d, :k, :v) "
                 "ON CONFLICT DO NOTHING")
# What no search reads any more (another generation, another day), and the oldest
# rows beyond the size.
PRUNE_SQL = text(
    "DELETE FROM search_cache_entry WHERE generation <> :g OR day <> :d OR (generation, day, digest) IN "
    "(SELECT generation, day, digest FROM search_cache_entry ORDER BY stored_at DESC OFFSET :size)"
)
PRUNE_EVERY = 100  # writes of a process between two prunings (and at each new generation)
MAX_SHARED_BYTES = 512 * 1024  # a larger value stays in its process


def generation(session: Session) -> int | None:
    """The catalogue's search generation; None when this transaction has written
    (what it sees is not the catalogue's committed state)."""
    # On the driver's cursor, in the session's transaction: read at every use of the
    # cache, twice a request of the API, it costs half what the same through
    # SQLAlchemy's execution does (80 µs instead of 170 µs).
    with session.connection().connection.dbapi_connection.cursor() as cursor:
        cursor.execute(GENERATION_SQL)
        value, clean = cursor.fetchone()
    return int(value) if clean else None


@cache
def code_version() -> bytes:
    """The digest of the application's code and data files: the shared rows of
    another version (a rolling deployment) are never read."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in ("catalogue", "geo", "importers", "search", "web"):
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".json", ".sql") and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.digest()


class SharedStore:
    """The table search_cache_entry, for the processes of one database."""

    def __init__(self, size: int):
        self.size = max(0, int(size))
        self._writes = 0
        self._pruned: tuple[int, date] | None = None

    @staticmethod
    def digest(key: Hashable) -> bytes:
        # The keys are tuples of strings, numbers and frozen dataclasses of them: their
        # repr is the same in every process.
        return hashlib.sha256(code_version() + repr(key).encode()).digest()

    def read(self, session: Session, current: int, day: date, digest: bytes):
        """The value kept under (current, day, digest), or None."""
        raw = session.execute(READ_SQL, {"g": current, "d": day, "k": digest}).scalar()
        if raw is None:
            return None
        try:
            return pickle.loads(raw)
        except Exception:  # noqa: BLE001 (a row that cannot be read is a miss)
            logger.warning("search cache: an unreadable shared entry was ignored")
            return None

    def writer(self, session: Session, current: int, day: date, digest: bytes, value) -> Callable[[], None]:
        """What keeps `value`, committed on a connection of its own (the request's
        transaction writes nothing), at once or once the response is sent (it needs
        the session's engine only). A failure is logged: the search is answered."""
        bind = session.get_bind()
        engine = bind.engine if isinstance(bind, Connection) else bind
        return lambda: self._write(engine, current, day, digest, value)

    def _write(self, engine, current: int, day: date, digest: bytes, value) -> None:
        raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if len(raw) > MAX_SHARED_BYTES:
            return
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(WRITE_SQL, {"g": current, "d": day, "k": digest, "v": raw})
                self._writes += 1
                if self._pruned != (current, day) or self._writes % PRUNE_EVERY == 0:
                    self._pruned = (current, day)
                    conn.execute(PRUNE_SQL, {"g": current, "d": day, "size": self.size})
        except Exception:  # noqa: BLE001 (the cache is an optimisation)
            logger.exception("search cache: the shared entry could not be written")


class SearchCache:
    """A least-recently-used map (generation, day, key) -> value, for one process
    (its threads share it), in front of the shared table (`shared_size` rows; 0: none)."""

    def __init__(self, size: int, shared_size: int = 0):
        self.size = max(0, int(size))
        self.shared = SharedStore(shared_size) if self.size and shared_size > 0 else None
        self._entries: OrderedDict[tuple, object] = OrderedDict()
        self._generation = -1
        self._lock = threading.Lock()
        self.hits = self.shared_hits = self.misses = 0
        # later(task) -> True when `task` will run once the response is sent (the web
        # sets it: the shared row is not written on the client's time); else run now.
        self.later: Callable[[Callable[[], None]], bool] | None = None

    def get(self, session: Session, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of `key` under the current generation: kept (here, or by
        another process), or `compute()`d (then kept). The day is part of the key."""
        if not self.size:
            return compute()
        current = generation(session)
        if current is None:
            return compute()
        today = date.today()
        full = (current, today, key)
        with self._lock:
            if current != self._generation:  # the catalogue changed (or was restored): nothing kept holds
                self._entries.clear()
                self._generation = current
            if full in self._entries:
                self._entries.move_to_end(full)
                self.hits += 1
                return self._entries[full]  # type: ignore[return-value]
        value = None
        if self.shared is not None:
            digest = self.shared.digest(key)
            value = self.shared.read(session, current, today, digest)
        with self._lock:
            if value is None:
                self.misses += 1
            else:
                self.shared_hits += 1
        if value is None:
            value = compute()
            if self.shared is not None:
                write = self.shared.writer(session, current, today, digest, value)
                if self.later is None or not self.later(write):
                    write()
        self._keep(current, full, value)
        return value

    def _keep(self, current: int, full: tuple, value) -> None:
        with self._lock:
            if current == self._generation:
                self._entries[full] = value
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
