"""load: validate, upsert on (source, source_id), quarantine, archive the vanished,
flag duplicates, report.

A run is a sequence of idempotent batches, each committed as it goes with the run
record updated in the same transaction: an interrupted run leaves whole batches,
and running it again completes it (what was loaded comes back "unchanged").
File-level errors are found by the framing pass (importers.readers.inspect) before
the first write, so a malformed file leaves the catalogue as it was.

Upserts are set-based: one INSERT … SELECT FROM jsonb_to_recordset per batch and
kind, ON CONFLICT (source, source_id) DO UPDATE only WHERE the normalised columns
differ, so an unchanged record writes nothing (the audit and outbox triggers stay
quiet). Batches are prepared in a worker process and written up to two at a time
(_Writers); docs/architecture.md, « Imports ».

The Loader is put together from its parts: importers.framing (tables, columns, the
référentiel, a prepared batch), importers.worker (the preparation), importers.writers
(the writing) and importers.report (the report, the runs interrupted).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from catalogue import moderation, places
from catalogue.db import set_actor
from catalogue.models import OwnSource
from importers import digests, duplicates, limits, snapshot
from importers.framing import ANALYZED, SCHEMAS, TABLES, Referentiel, _Prepared, dumps
from importers.models import ImportRun
from importers.readers import RawRecord
from importers.records import SERVICE, STRUCTURE, Item
from importers.report import REPORT_REJECTIONS_MAX, Report, mark_interrupted, process_alive
from importers.worker import _Preparing
from importers.writers import WRITERS, _column_types, _upsert_sql, _Writing

__all__ = ["WRITERS", "Loader", "Report", "mark_interrupted", "process_alive"]


class Loader(_Preparing, _Writing):
    """One import run. `normalise` is the source's pure normaliser."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        source: str,
        normalise: Callable[[RawRecord, dict], list[Item]],
        *,
        location: str = "",
        snapshot: bool = False,
        actor: str | None = None,
        options: dict | None = None,
        geocoder=None,
        batch_size: int = 2000,
        progress: Callable[[int], Any] | None = None,
        notes: Iterable[str] = (),
        force: bool = False,
        max_archive_share: float = snapshot.MAX_ARCHIVE_SHARE,
        own_sources: Iterable[str] = (),
    ):
        self.sessions = sessions
        self.source = source
        self.normalise = normalise
        self.location = location
        self.snapshot = snapshot
        self.force = force
        self.max_archive_share = max_archive_share
        # A feed that reaches producers through a channel (the national base) archives
        # only what came through it (importers.snapshot).
        self.snapshot_channel: str | None = None
        # Record sources that are this service's own (a partner's own file): export.py
        # publishes them under the département's name.
        self.own_sources = sorted(set(own_sources))
        self.actor = actor or f"import:{source}"
        self.options = options or {}
        self.geocoder = geocoder
        self.batch_size = batch_size
        self.progress = progress or (lambda n: None)
        self.report = Report()
        for note in notes:  # said once: a column ignored, a default applied
            self.report.warnings[note] += 1
        self.run_id: int | None = None
        self.referentiel: Referentiel | None = None
        # Structures of this file that passed validation (in the process that prepares
        # the batches): their services need no check that the catalogue has them.
        self._file_structures: set[tuple[str, str]] = set()
        self._sql: dict[str, str] = {}
        # Unchanged records recognised by their digest (importers.digests): the digests
        # of the run (None with a geocoder: its answers may change), those known with
        # their rows as written, and the keys met in the run (in the worker process).
        self._digests: digests.Digests | None = None
        self._known: digests.Known = {}
        self._run_keys: set[tuple[str, str, str]] = set()
        self.seen: dict[str, set[tuple[str, str]]] = {STRUCTURE: set(), SERVICE: set()}
        self.created: dict[str, list[uuid.UUID]] = {STRUCTURE: [], SERVICE: []}
        # Input positions whose records were all loaded (used by retries).
        self.rejected_inputs: set[int] = set()
        self.schemas = {kind: schema() for kind, schema in SCHEMAS.items()}
        # The place rule's answers for the run (writers: _check_places).
        self._located: dict[tuple, places.Located] = {}
        self._outcomes: dict[tuple, places.Outcome] = {}
        # Where the time went (seconds), for the benchmark: preparing the batches (in
        # the worker), writing them (the writer, database included), and the writer
        # waiting for the next prepared batch.
        self.timings: Counter = Counter()
        # Held to merge a written batch into the run's report and commit it.
        self._commit_lock = threading.Lock()

    # --- run record ---------------------------------------------------------

    def start(self) -> int:
        """Record the run (with its process), after marking « interrompu » the runs
        of this host whose process is gone; register the run's own sources."""
        with self.sessions() as session, session.begin():
            mark_interrupted(session)
            run = ImportRun(
                source=self.source, location=self.location, snapshot=self.snapshot,
                status="en-cours", actor=self.actor, options=self.options, report={},
                pid=os.getpid(), host=socket.gethostname(),
            )
            session.add(run)
            if self.own_sources:
                session.execute(
                    pg_insert(OwnSource).values([{"name": n, "via": self.source} for n in self.own_sources])
                    .on_conflict_do_nothing()
                )
            session.flush()
            self.run_id = run.id
        return self.run_id

    def fail(self, message: str) -> None:
        """Record a file-level error: the run wrote nothing to the catalogue."""
        if self.run_id is None:
            self.start()
        with self.sessions() as session, session.begin():
            session.execute(
                update(ImportRun).where(ImportRun.id == self.run_id).values(
                    status="echoue", error=message, report=self.report.as_dict(),
                    finished_at=datetime.now().astimezone(),
                )
            )

    def run(self, records: Iterable[RawRecord]) -> int:
        """Batches are prepared (read, normalised, validated: Python only) in a worker
        process while the previous batch is written: the database writes batch N while
        Python prepares batch N+1, on the other core. Each batch is still written and
        committed in order, with the run record, in one transaction."""
        if self.run_id is None:
            self.start()
        if self.referentiel is None:
            with self.sessions() as session:
                self.referentiel = Referentiel(session)
                self._sql = {kind: _upsert_sql(kind, _column_types(session, TABLES[kind])) for kind in TABLES}
        if self.geocoder is None:
            self._digests = digests.Digests(self.source, self.options, self.referentiel.fingerprint)
            with self.sessions() as session:
                self._known = digests.known(session)
        self._pipeline(self._batches(records))
        self._known = {}
        started = time.perf_counter()
        refused: snapshot.ArchiveShareExceeded | None = None
        with self.sessions() as session, session.begin():
            set_actor(session, self.actor)
            if self.snapshot:
                try:
                    with session.begin_nested():
                        self._archive_vanished(session)
                except snapshot.ArchiveShareExceeded as exc:
                    refused = exc
            # Fresh statistics after a large load, or the duplicate joins below are
            # planned for the empty tables they were (nested loops over everything).
            for kind, table in TABLES.items():
                if len(self.created[kind]) > 1000:
                    session.execute(text(f"ANALYZE {table} ({', '.join(ANALYZED[kind])})"))
            flagging = time.perf_counter()
            for kind, found in duplicates.flag(session, self.created).items():
                self.report.counts[kind]["doublons"] += found
            # Each new duplicate suggestion goes to the moderators' queue.
            moderation.sync_duplicates(session)
            self.timings["doublons"] += time.perf_counter() - flagging
            self._save_report(session, finished=True, error=str(refused) if refused else None)
        self.timings["fin"] += time.perf_counter() - started
        if refused is not None:
            refused.run_id = self.run_id
            raise refused
        return self.run_id

    def _save_report(self, session: Session, finished: bool = False, error: str | None = None) -> None:
        values: dict[str, Any] = {"report": self.report.as_dict()}
        if finished:
            values.update(status="termine", finished_at=datetime.now().astimezone(), error=error)
        session.execute(update(ImportRun).where(ImportRun.id == self.run_id).values(**values))

    def _merge(self, prepared: _Prepared) -> None:
        """The batch's report into the run's (in the batch's transaction)."""
        for kind, counts in prepared.report.counts.items():
            for name, value in counts.items():
                self.report.counts[kind][name] += value
        for warning, value in prepared.report.warnings.items():
            self.report.warnings[warning] += value
        room = REPORT_REJECTIONS_MAX - len(self.report.rejections)
        if room > 0:
            self.report.rejections.extend(prepared.report.rejections[:room])
        for kind, seen in prepared.seen.items():
            self.seen[kind] |= seen
        for kind, created in prepared.created.items():
            self.created[kind].extend(created)
        self.rejected_inputs |= prepared.rejected_inputs

    def _reject(self, prepared: _Prepared, kind, item: Item, record: RawRecord, position: int,
                errors) -> dict:
        # What is stored must be storable: no control character (PostgreSQL refuses
        # \u0000 in text and JSON), ids within their columns.
        errors = limits.strip_control({str(f): [str(m)[:2000] for m in ms] for f, ms in errors.items()})
        reason = "; ".join(f"{f} : {', '.join(m)}" for f, m in errors.items())
        report = prepared.report
        report.counts[kind]["rejetes"] += 1
        prepared.rejected_inputs.add(position)
        if len(report.rejections) < REPORT_REJECTIONS_MAX:
            report.rejections.append({
                "type": kind, "source": limits.strip_control(item.source[:100]) or None,
                "id": limits.strip_control(item.source_id[:300]) or None,
                "ligne": record.line, "motif": reason,
            })
        return {
            "run_id": self.run_id, "source": self.source, "kind": kind,
            "record_source": limits.strip_control(item.source[:100]) or None,
            "record_id": limits.strip_control(item.source_id[:300]) or None,
            "reason": reason, "errors": errors,
            "raw": limits.strip_control(orjson.loads(dumps(record.data))),
        }

    # --- snapshot -------------------------------------------------------------

    def _archive_vanished(self, session: Session) -> None:
        """Archive (never delete) what a full snapshot no longer holds, among the
        sources the file speaks for — unless it is more than the allowed share of
        them (importers.snapshot): then nothing is archived and the error is raised."""
        for kind in (SERVICE, STRUCTURE):
            snapshot.check_archive_share(session, kind, self.seen[kind], max_share=self.max_archive_share,
                                         force=self.force, channel=self.snapshot_channel)
        for kind in (SERVICE, STRUCTURE):
            self.report.counts[kind]["archives"] += snapshot.archive_vanished(
                session, kind, self.seen[kind], channel=self.snapshot_channel)
