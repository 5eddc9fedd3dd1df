"""Incremental indexing from the catalogue outbox (search_outbox).

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

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from search.contract import SearchBackend
from search.documents import documents_for
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
           sleep: Callable[[float], None] = time.sleep) -> None:
    """Sync forever: poll every `interval` seconds; on failure retry with
    exponential backoff (the outbox keeps what was not applied)."""
    delays = backoff_delays()
    while not stop():
        try:
            result = sync_all(factory, make, batch)
        except SearchError as exc:
            delay = next(delays)
            log.warning("search sync failed (%s); retry in %.0f s", exc, delay)
            sleep(delay)
            continue
        delays = backoff_delays()
        if result.rows:
            log.info("search sync: %d rows, %d indexed, %d deleted", result.rows, result.indexed, result.deleted)
        sleep(interval)
