"""Incremental indexing from the catalogue outbox (search_outbox), and the switch
between engines.

The outbox is written (by triggers) only while an external engine is fed
(search_engine_state.outbox_enabled): the PostgreSQL engine's search rows are kept
by triggers of their own, so with it the outbox stays empty. Feeding an external
engine always starts with a full rebuild of its index (`switch_to`), which turns the
outbox on first, so that no change made during the rebuild is missed.

One pass reads the oldest outbox rows, sends the documents of those services
(deleting from the index those no longer searchable: archived, unpublished), and
deletes the rows it applied, in one transaction: a failure leaves them for the
next pass. Applying a row twice is harmless (documents are upserted by id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from search.contract import SearchBackend
from search.documents import all_documents, documents_for
from search.errors import SearchError

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    rows: int = 0
    indexed: int = 0
    deleted: int = 0


def sync_once(session: Session, backend: SearchBackend, batch: int = 1000) -> SyncResult:
    """Apply up to `batch` outbox rows. The caller commits."""
    rows = session.execute(
        text("SELECT id, service_id FROM search_outbox ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"),
        {"n": batch},
    ).all()
    if not rows:
        return SyncResult()
    ids = list(dict.fromkeys(r.service_id for r in rows))
    documents = documents_for(session, ids)
    present = {d.id for d in documents}
    gone = [i for i in ids if i not in present]
    backend.index(documents)
    backend.delete(gone)
    session.execute(text("DELETE FROM search_outbox WHERE id = ANY(:ids)"), {"ids": [r.id for r in rows]})
    return SyncResult(rows=len(rows), indexed=len(documents), deleted=len(gone))


def sync_all(factory: sessionmaker[Session], make: Callable[[Session], SearchBackend],
             batch: int = 1000) -> SyncResult:
    """Passes until the outbox is empty, each in its own transaction."""
    total = SyncResult()
    while True:
        with factory() as session, session.begin():
            result = sync_once(session, make(session), batch)
        total.rows += result.rows
        total.indexed += result.indexed
        total.deleted += result.deleted
        if result.rows < batch:
            return total


def backoff_delays(base: float = 1.0, cap: float = 60.0):
    """1, 2, 4… seconds, at most `cap` (exponential backoff)."""
    delay = base
    while True:
        yield delay
        delay = min(cap, delay * 2)


def worker(factory: sessionmaker[Session], make: Callable[[Session], SearchBackend], *,
           interval: float = 2.0, batch: int = 1000, stop: Callable[[], bool] = lambda: False,
           sleep: Callable[[float], None] = time.sleep, configured: str | None = None,
           after: Callable[[], object] | None = None) -> None:
    """Sync forever: poll every `interval` seconds; on failure retry with
    exponential backoff (the outbox keeps what was not applied). When the database
    does not feed the `configured` engine yet (a switch from PostgreSQL to
    Meilisearch), the first pass is a full rebuild (`switch_to`). `after` runs after
    each pass that succeeded (its failure is logged, the worker goes on)."""
    delays = backoff_delays()
    while not stop():
        try:
            if configured is not None:
                with factory() as session:
                    switch = needs_switch(session, configured)
                if switch:
                    log.info("search engine switch to %s: full rebuild", configured)
                    count = switch_to(factory, configured, make)
                    log.info("search index rebuilt: %s documents", count)
            result = sync_all(factory, make, batch)
        except SearchError as exc:
            delay = next(delays)
            log.warning("search sync failed (%s); retry in %.0f s", exc, delay)
            sleep(delay)
            continue
        delays = backoff_delays()
        if result.rows:
            log.info("search sync: %d rows, %d indexed, %d deleted", result.rows, result.indexed, result.deleted)
        if after is not None:
            try:
                after()
            except Exception:  # noqa: BLE001 (what runs after the sync never stops it)
                log.exception("search worker: the task after the sync failed")
        sleep(interval)


# --- which engine the database feeds -----------------------------------------------

EXTERNAL = ("meilisearch",)


@dataclass
class EngineState:
    engine: str
    outbox_enabled: bool
    rebuilt_at: datetime | None


def engine_state(session: Session) -> EngineState:
    row = session.execute(
        text("SELECT engine, outbox_enabled, rebuilt_at FROM search_engine_state WHERE id = 1")
    ).first()
    if row is None:
        return EngineState("postgres", False, None)
    return EngineState(row.engine, row.outbox_enabled, row.rebuilt_at)


def needs_switch(session: Session, configured: str) -> bool:
    """True when the configured engine is not the one the database feeds."""
    state = engine_state(session)
    if configured in EXTERNAL:
        return not state.outbox_enabled or state.engine != configured
    return state.outbox_enabled or state.engine != configured


def _set_state(session: Session, engine: str, outbox: bool, rebuilt: bool) -> None:
    session.execute(
        text(
            "INSERT INTO search_engine_state (id, engine, outbox_enabled, rebuilt_at)"
            " VALUES (1, :e, :o, CASE WHEN :r THEN now() END)"
            " ON CONFLICT (id) DO UPDATE SET engine = :e, outbox_enabled = :o,"
            " rebuilt_at = CASE WHEN :r THEN now() ELSE search_engine_state.rebuilt_at END"
        ),
        {"e": engine, "o": outbox, "r": rebuilt},
    )


def _wait_for_older_writers(session: Session, since: datetime, timeout_s: float = 120.0) -> None:
    """Wait until every transaction begun before `since` has ended: a change whose
    trigger ran before the outbox was turned on must be committed (and so seen by
    the rebuild) before the rebuild reads the catalogue."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # pg_stat_activity is read once per transaction unless its snapshot is cleared.
        session.execute(text("SELECT pg_stat_clear_snapshot()"))
        older = session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                " AND xact_start < :since"
            ),
            {"since": since},
        ).scalar()
        if not older:
            return
        time.sleep(0.2)
    log.warning("search switch: transactions older than the switch still running")


def switch_to(factory: sessionmaker[Session], configured: str,
              make: Callable[[Session], SearchBackend]) -> int | None:
    """Make the database feed `configured` and rebuild its index from the whole
    catalogue. External engine: the outbox is turned on (committed), the writers that
    began before are waited for, then the index is rebuilt aside and swapped, and the
    outbox rows the rebuild covers are deleted. PostgreSQL: the outbox is turned off
    and emptied (its search rows are kept by triggers whatever the engine; `offre
    search rebuild` recomputes them). Returns the documents indexed (None for
    PostgreSQL)."""
    if configured in EXTERNAL:
        with factory() as session, session.begin():
            _set_state(session, configured, True, False)
        with factory() as session, session.begin():
            # Any transaction begun before this moment may have missed the outbox.
            switched_at = session.execute(text("SELECT clock_timestamp()")).scalar()
            _wait_for_older_writers(session, switched_at)
            covered = session.execute(text("SELECT id FROM search_outbox")).scalars().all()
            count = make(session).rebuild(all_documents(session))
            if covered:
                session.execute(text("DELETE FROM search_outbox WHERE id = ANY(:ids)"),
                                {"ids": list(covered)})
            _set_state(session, configured, True, True)
        return count
    with factory() as session, session.begin():
        _set_state(session, configured, False, False)
        session.execute(text("DELETE FROM search_outbox"))
    return None


@dataclass
class OutboxStats:
    rows: int
    oldest_age_s: float


def outbox_stats(session: Session) -> OutboxStats:
    row = session.execute(
        text(
            "SELECT count(*) AS n,"
            " coalesce(extract(epoch FROM now() - min(at)), 0) AS age FROM search_outbox"
        )
    ).one()
    return OutboxStats(rows=int(row.n), oldest_age_s=float(row.age))


# The search index's pending entries merged into its tree (GIN's « fast update »:
# the rows written since the last merge sit in a list that every search reads
# through). Measured on the 100,000-service benchmark catalogue: 1,114 entries
# pending (200 pages) made a large city's search 3.3 → 6.5 ms.
MERGE_PENDING_SQL = text("SELECT gin_clean_pending_list(CAST('ix_search_document_terms' AS regclass))")


def merge_pending(session: Session) -> int:
    """Merge the pending entries of the search index now, committed (the search
    worker does it once the catalogue has settled after a change, instead of the
    next writer past 4 MB, or autovacuum). Returns the pages merged."""
    merged = session.scalar(MERGE_PENDING_SQL)
    session.commit()
    return int(merged or 0)
