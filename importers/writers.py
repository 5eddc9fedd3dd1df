"""The writing of an import's prepared batches (importers.load): one set-based
upsert per batch and kind (INSERT … SELECT FROM jsonb_to_recordset, ON CONFLICT …
DO UPDATE only where the columns differ), the places checked against the contours,
the orphan services quarantined, the fields a structure took over kept; up to
WRITERS batches at once, each in its own transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from catalogue import places
from catalogue.db import set_actor
from importers import digests
from importers.framing import COLUMNS, TABLES, _Prepared, dumps, dumps_bytes, jsonb
from importers.models import QuarantinedRecord
from importers.records import SERVICE, STRUCTURE, Item

if TYPE_CHECKING:
    from importers.load import Loader

# Batches written at once, each in its own transaction on its own connection: the
# database's work per record (triggers: search rows, audit, outbox) is most of an
# import, and one connection uses one core. See _Writers.
WRITERS = 2
# A batch whose transaction the database aborted as a deadlock is written again
# (batches are idempotent). None is expected: batches written at once share no
# record, and the typo dictionary's new words are inserted in one order (0011).
DEADLOCK_RETRIES = 3
# The fields of a place that the writer may repair (_check_places).
PLACE_FIELDS = ("code_insee", "code_postal", "commune")
# Place answers kept per run (each a few hundred bytes) before starting afresh.
PLACE_CACHE = 200_000


def _column_types(session: Session, table: str) -> dict[str, str]:
    """The SQL types of a table's columns, as jsonb_to_recordset declares them."""
    return dict(session.execute(
        text(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped"
        ),
        {"t": table},
    ).all())


def _upsert_sql(kind: str, types: dict[str, str]) -> str:
    """One statement per batch: the rows from their JSON, a service's structure found
    by its (source, source_id) in the same statement (a service whose structure the
    catalogue has not is left out: the writer quarantines it)."""
    table = TABLES[kind]
    columns = COLUMNS[kind] + ["location", "location_precision"]
    compared = [c for c in columns if c != "location"]
    insert_cols = ["id", "source", "source_id", "raw", "status", "source_status", *columns]
    read_cols = [c for c in insert_cols if c != "structure_id"]
    declared = ", ".join(f'"{c}" {types[c]}' for c in read_cols)
    fixed = [c for c in PLACE_FIELDS if c in read_cols]
    selected = ", ".join(
        "st.id" if c == "structure_id" else f"CASE WHEN f.i IS NULL THEN r.{c} ELSE f.{c} END" if c in fixed
        else f"r.{c}" for c in insert_cols
    )
    # Each row with its position in the payload (WITH ORDINALITY, 1 for the first).
    source = f"ROWS FROM (jsonb_to_recordset(CAST(:rows AS jsonb)) AS ({declared}"
    columns_read = ", ".join(f'"{c}"' for c in read_cols)
    if kind == SERVICE:
        source += (", structure_source text, structure_source_id text)) WITH ORDINALITY "
                   f"AS r({columns_read}, structure_source, structure_source_id, i) "
                   "JOIN structure st ON st.source = r.structure_source AND st.source_id = r.structure_source_id")
    else:
        source += f")) WITH ORDINALITY AS r({columns_read}, i)"
    # The places the writer repaired (_check_places), by their position in the payload.
    fixes = ", ".join(f'"{c}" {types[c]}' for c in fixed)
    source += f" LEFT JOIN jsonb_to_recordset(CAST(:fixes AS jsonb)) AS f(i bigint, {fixes}) ON f.i = r.i"
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in ["raw", "source_status", *columns])
    # The source's status is applied when the source's own words for it changed
    # (a moderator's decision on a record the source did not change stands).
    sets += (f", status = CASE WHEN EXCLUDED.source_status IS NOT NULL AND EXCLUDED.source_status "
             f"IS DISTINCT FROM {table}.source_status THEN EXCLUDED.status ELSE {table}.status END")
    compared = [*compared, "source_status"]
    old = ", ".join([f"{table}.{c}" for c in compared] + [f"ST_AsBinary({table}.location)"])
    new = ", ".join([f"EXCLUDED.{c}" for c in compared] + ["ST_AsBinary(EXCLUDED.location)"])
    return (
        f"INSERT INTO {table} ({', '.join(insert_cols)}) "
        f"SELECT {selected} FROM {source} "
        f"ON CONFLICT (source, source_id) DO UPDATE SET {sets}, updated_at = now() "
        f"WHERE ({old}) IS DISTINCT FROM ({new}) "
        f"RETURNING id, source, source_id, (xmax = 0) AS inserted"
    )


class _Writers:
    """Prepared batches written by up to WRITERS threads, each batch in its own
    transaction on its own connection (the threads wait on the database, without the
    GIL). Two batches run side by side only when they share no record and do not
    mix structures with services: the services of a batch find the structures of
    every earlier batch committed, a service's search row (which holds its
    structure's name and status) is never written by two transactions at once, and
    a record repeated in a later batch is written after the earlier one (the last one
    wins, as within a batch). With sessions bound to one connection (the tests'
    transaction), one batch at a time."""

    def __init__(self, loader: Loader):
        self.loader = loader
        bound = loader.sessions.kw.get("bind")
        self.size = 1 if isinstance(bound, Connection) else WRITERS
        self.pool = ThreadPoolExecutor(self.size, thread_name_prefix="import-write") if self.size > 1 else None
        # In flight: (future, its structures' keys, its services' keys).
        self.running: list[tuple[Future, set, set]] = []

    def submit(self, prepared: _Prepared) -> None:
        if self.pool is None:
            self.loader._write_batch(prepared)
            return
        structures, services = set(prepared.keys[STRUCTURE]), set(prepared.keys[SERVICE])
        for future, other_structures, other_services in self.running:
            if ((structures and other_services) or (services and other_structures)
                    or not structures.isdisjoint(other_structures) or not services.isdisjoint(other_services)):
                future.result()
        while sum(not r[0].done() for r in self.running) >= self.size:
            wait_futures([r[0] for r in self.running], return_when=FIRST_COMPLETED)
        for future, _, _ in self.running:
            if future.done():
                future.result()  # its error, raised now
        self.running = [r for r in self.running if not r[0].done()]
        self.running.append((self.pool.submit(self.loader._write_batch, prepared), structures, services))

    def finish(self) -> None:
        for future, _, _ in self.running:
            future.result()
        self.running = []

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class _Writing:
    """The Loader's writing side: one prepared batch written in one transaction."""

    def _write_batch(self, prepared: _Prepared) -> None:
        """Write one batch in one transaction, with the run's report. Written
        batches may be two at a time (_Writers): the report is merged and the
        transaction committed under a lock, one batch after the other."""
        started = time.perf_counter()
        for attempt in range(DEADLOCK_RETRIES + 1):
            batch = prepared.attempt()
            with self.sessions() as session:
                session.begin()
                try:
                    set_actor(session, self.actor)
                    self._write(session, batch)
                except DBAPIError as exc:
                    session.rollback()
                    if getattr(exc.orig, "sqlstate", None) == "40P01" and attempt < DEADLOCK_RETRIES:
                        continue  # the other batch took a lock this one needed: this one again
                    raise
                with self._commit_lock:
                    self._merge(batch)
                    self._save_report(session)
                    session.commit()
                    self.timings["ecriture"] += time.perf_counter() - started
                    self.timings["preparation"] += prepared.seconds
                    self.timings["lieux"] += batch.located_seconds
                    self.progress(prepared.count)
                return

    def _write(self, session: Session, prepared: _Prepared) -> None:
        """Write one prepared batch: structures, then services, quarantine."""
        quarantine = prepared.quarantine
        payloads, keys = prepared.payloads, prepared.keys
        if prepared.unplaced:
            for kind in payloads:
                payloads[kind] = self._patch(payloads[kind], self._place_row)
        if prepared.located:
            started = time.perf_counter()
            self._check_places(session, prepared)
            prepared.located_seconds = time.perf_counter() - started
        self._upsert(session, prepared, STRUCTURE, len(keys[STRUCTURE]))
        orphans = self._orphans(session, prepared)
        for key in orphans:
            position, record, structure_key = prepared.origin[(SERVICE, *key)]
            item = Item(kind=SERVICE, source=key[0], source_id=key[1], data={}, raw=None)
            quarantine.append(self._reject(
                prepared, SERVICE, item, record, position,
                {"structure_id": [f"structure inconnue : {structure_key[1]} (source {structure_key[0]})"]},
            ))
        services = [k for k in keys[SERVICE] if k not in orphans]
        for key in orphans:
            prepared.digests[SERVICE].pop(key, None)
        payloads[SERVICE] = self._keep_taken_over(session, prepared, services)
        # The orphans' rows stay in the payload: the upsert's join leaves them out.
        self._upsert(session, prepared, SERVICE, len(services))
        if quarantine:
            session.execute(insert(QuarantinedRecord), quarantine)
        for kind, written in prepared.digests.items():
            digests.save(session, kind, written)
        loaded = [(STRUCTURE, *k) for k in keys[STRUCTURE]] + [(SERVICE, *k) for k in services]
        loaded += [(kind, *k) for kind, skipped in prepared.skipped.items() for k in skipped]
        if loaded:
            session.execute(
                text(
                    "UPDATE import_quarantine q SET resolved_at = now(), resolved_run_id = :run "
                    "FROM unnest(CAST(:kinds AS text[]), CAST(:sources AS text[]), CAST(:ids AS text[])) "
                    "AS l(kind, source, id) "
                    "WHERE q.resolved_at IS NULL AND q.kind = l.kind AND q.record_source = l.source "
                    "AND q.record_id = l.id"
                ),
                {"run": self.run_id, "kinds": [x[0] for x in loaded],
                 "sources": [x[1] for x in loaded], "ids": [x[2] for x in loaded]},
            )

    def _check_places(self, session: Session, prepared: _Prepared) -> None:
        """The rows with coordinates: their commune checked against the contours
        (one query for the batch's distinct points), repaired as catalogue.places
        says, each repair a warning. A point places the record: never a rejection
        (an unknown code that nothing resolves is removed)."""
        communes = self.referentiel.places
        # Answers and outcomes are kept for the run: a structure's services share
        # its place, and a place repeats across batches (outcomes are pure).
        answers, outcomes = self._located, self._outcomes
        if len(answers) > PLACE_CACHE or len(outcomes) > PLACE_CACHE:
            answers.clear()
            outcomes.clear()
        known: dict[tuple, places.Located | None] = {}
        for _, _, (code, _, _, lon, lat) in prepared.located:
            current = places.given_code(communes, code)
            question = (current, lon, lat, places.wants_point_test(communes, current))
            if question not in known:
                known[question] = answers.get(question)  # the other writer may clear it: read once
        missing = [q for q, a in known.items() if a is None]
        fetched = dict(zip(missing, places.locate_points(session, missing), strict=True))
        known.update(fetched)
        answers.update(fetched)
        changes: dict[str, dict[int, tuple]] = {}
        warnings = prepared.report.warnings
        for kind, index, (code, cp, name, lon, lat) in prepared.located:
            current = places.given_code(communes, code)
            located = known[(current, lon, lat, places.wants_point_test(communes, current))]
            key = (code, cp, name, located)
            outcome = outcomes.get(key)
            if outcome is None:
                outcome = outcomes[key] = places.reconcile(communes, code, cp, name, located)
            if outcome.error:
                warnings[f"{outcome.error} : code retiré, le lieu est placé par ses coordonnées"] += 1
            for repair in outcome.repairs:
                warnings[repair] += 1
            resolved = (outcome.code_insee, outcome.code_postal, outcome.commune)
            if resolved != (code, cp, name):
                changes.setdefault(kind, {})[index] = resolved
            if outcome.error or outcome.repairs or resolved != (code, cp, name):
                prepared.digests[kind].pop(prepared.keys[kind][index], None)
        # Applied by the upsert: parsing and writing a batch's payload again cost more
        # than the check itself.
        prepared.fixes = changes

    @staticmethod
    def _apply_fixes(prepared: _Prepared, kind: str) -> None:
        """The repaired places written into the payload itself, before a change that
        must take precedence over them (fields a structure took over)."""
        changed = prepared.fixes.pop(kind, None)
        if changed:
            rows = orjson.loads(prepared.payloads[kind])
            for index, values in changed.items():
                rows[index].update(zip(PLACE_FIELDS, values, strict=True))
            prepared.payloads[kind] = dumps_bytes(rows)

    def _orphans(self, session: Session, prepared: _Prepared) -> set[tuple[str, str]]:
        """Services of the batch whose structure neither the file (so far) nor the
        catalogue has: one query for their structures."""
        if not prepared.origin:
            return set()
        wanted = {v[2] for v in prepared.origin.values()}
        found = {tuple(r) for r in session.execute(
            text(
                "SELECT s.source, s.source_id FROM structure s "
                "JOIN unnest(CAST(:sources AS text[]), CAST(:ids AS text[])) AS k(source, id) "
                "ON s.source = k.source AND s.source_id = k.id"
            ),
            {"sources": [k[0] for k in wanted], "ids": [k[1] for k in wanted]},
        )}
        return {key[1:] for key, value in prepared.origin.items() if value[2] not in found}

    @staticmethod
    def _patch(payload: bytes, change: Callable[[dict], None]) -> bytes:
        """The rows of a payload changed by the writer (a rare path: geocoding,
        fields taken over by a structure)."""
        rows = orjson.loads(payload)
        for row in rows:
            change(row)
        return dumps_bytes(rows)

    def _place_row(self, row: dict) -> None:
        if "_place" in row:
            row["location"], row["location_precision"] = self._place(tuple(row.pop("_place")))

    def _upsert(self, session: Session, prepared: _Prepared, kind: str, expected: int) -> None:
        """Write a payload's rows; `expected` of them can be written (the others are
        orphans, left out by the statement)."""
        if not expected:
            return
        fixes = [{"i": index + 1, **dict(zip(PLACE_FIELDS, values, strict=True))}
                 for index, values in prepared.fixes.get(kind, {}).items()]
        result = session.execute(text(self._sql[kind]),
                                 {"rows": jsonb(prepared.payloads[kind]), "fixes": dumps(fixes)}).all()
        counts = prepared.report.counts[kind]
        for r in result:
            if r.inserted:
                counts["crees"] += 1
                prepared.created[kind].append(r.id)
            else:
                counts["modifies"] += 1
        counts["inchanges"] += expected - len(result)

    def _keep_taken_over(self, session: Session, prepared: _Prepared, services: list[tuple[str, str]]) -> bytes:
        """The fields a structure took over (edited itself, table taken_over_field)
        keep their current value: the import writes them back unchanged. One query
        per batch; the payload is rewritten only when such fields exist."""
        payload = prepared.payloads[SERVICE]
        if not services:
            return payload
        found = session.execute(
            text(
                "SELECT s.source, s.source_id, array_agg(t.field) AS fields, "
                "to_jsonb(s) - 'raw' AS current FROM service s "
                "JOIN unnest(CAST(:sources AS text[]), CAST(:ids AS text[])) AS k(source, id) "
                "ON s.source = k.source AND s.source_id = k.id "
                "JOIN taken_over_field t ON t.service_id = s.id GROUP BY s.id"
            ),
            {"sources": [k[0] for k in services], "ids": [k[1] for k in services]},
        ).all()
        if not found:
            return payload
        kept = {(source, source_id): (fields, current) for source, source_id, fields, current in found}
        self._apply_fixes(prepared, SERVICE)
        payload = prepared.payloads[SERVICE]

        def keep(row: dict) -> None:
            if (row["source"], row["source_id"]) not in kept:
                return
            fields, current = kept[(row["source"], row["source_id"])]
            for name in fields:
                if name == "location":
                    row["location"] = current.get("location")
                    row["location_precision"] = current.get("location_precision")
                elif name in row:
                    row[name] = current.get(name)
            prepared.report.warnings["champs repris par la structure conservés"] += 1
            prepared.digests[SERVICE].pop((row["source"], row["source_id"]), None)

        return self._patch(payload, keep)
