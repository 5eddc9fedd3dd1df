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
"""

from __future__ import annotations

import copy
import gc
import multiprocessing
import os
import pickle
import signal
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from queue import Empty
from typing import Any

import orjson
from marshmallow import ValidationError as MarshmallowError
from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from catalogue import moderation, places
from catalogue.db import set_actor
from catalogue.models import OwnSource
from catalogue.schemas import ServiceInput, StructureInput, in_france, rules_beyond_di_models
from geo import zones
from geo.errors import UnknownCode, ZoneError
from importers import duplicates, limits, snapshot
from importers.models import ImportRun, QuarantinedRecord
from importers.readers import RawRecord
from importers.records import SERVICE, STRUCTURE, Item

PLACE_COLUMNS = [
    "commune", "code_postal", "code_insee", "adresse", "complement_adresse", "telephone",
    "courriel", "horaires_accueil",
]
COLUMNS = {
    STRUCTURE: [
        "nom", "description", "siret", "lien_source", "site_web", "accessibilite_lieu",
        "date_maj", "reseaux_porteurs", *PLACE_COLUMNS,
    ],
    SERVICE: [
        "nom", "description", "lien_source", "date_maj", "type", "thematiques", "frais",
        "frais_precisions", "publics", "publics_precisions", "conditions_acces", "modes_accueil",
        "zone_eligibilite", "contact_nom_prenom", "lien_mobilisation", "modes_mobilisation",
        "mobilisable_par", "mobilisation_precisions", "volume_horaire_hebdomadaire",
        "nombre_semaines", "message_temporaire", "message_debut", "message_fin", *PLACE_COLUMNS,
        "structure_id",
    ],
}
TABLES = {STRUCTURE: "structure", SERVICE: "service"}
# The columns whose statistics the duplicate searches' joins are planned with
# (analysing these alone takes half the time of the whole table).
ANALYZED = {
    STRUCTURE: ["id", "source", "source_id", "siret", "location", "status", "duplicate_of_id", "created_at"],
    SERVICE: ["id", "source", "source_id", "structure_id", "thematiques", "status", "duplicate_of_id",
              "created_at"],
}
SCHEMAS = {STRUCTURE: StructureInput, SERVICE: ServiceInput}
# Rejections kept in the run's report (all of them are in the quarantine).
REPORT_REJECTIONS_MAX = 1000
# Prepared batches that may wait for the writer (each is batch_size records).
PIPELINE_DEPTH = 2
# Batches written at once, each in its own transaction on its own connection: the
# database's work per record (triggers: search rows, audit, outbox) is most of an
# import, and one connection uses one core. See _Writers.
WRITERS = 2
# A batch whose transaction the database aborted as a deadlock is written again
# (batches are idempotent). None is expected: batches written at once share no
# record, and the typo dictionary's new words are inserted in one order (0011).
DEADLOCK_RETRIES = 3
# Place answers kept per run (each a few hundred bytes) before starting afresh.
PLACE_CACHE = 200_000
COUNTERS = ("lus", "crees", "modifies", "inchanges", "archives", "rejetes", "doublons")


class Referentiel:
    """The référentiel in memory for one run: checking 100,000 records one query
    each would be the bottleneck. The zone rules are geo.zones.expand's."""

    def __init__(self, session: Session):
        rows = session.execute(
            text("SELECT code, type, nom, parent_code, codes_postaux, ST_X(centre::geometry) AS lon, "
                 "ST_Y(centre::geometry) AS lat FROM geo_commune")
        ).all()
        # The communes for the place rule (catalogue.places): names, postal codes,
        # former communes and arrondissements.
        self.places = places.Communes(rows)
        self.communes = self.places.nom
        # Every commune's centre (35,000 pairs): rows are placed while prepared.
        self._centres = {r.code: (r.lon, r.lat) for r in rows if r.lon is not None}
        self.zone_codes = zones.KnownCodes.load(session, self.communes)
        self._zones: dict[tuple[str, ...], list[str]] = {}

    def normalise_zone(self, codes: list[str]) -> list[str]:
        key = tuple(codes)
        if key in self._zones:
            return self._zones[key]
        result = zones.expand(codes, self.zone_codes)
        self._zones[key] = result
        return result

    def centre(self, code: str | None) -> tuple[float, float] | None:
        return self._centres.get(code or "")


@dataclass
class Report:
    counts: dict[str, Counter] = field(
        default_factory=lambda: {STRUCTURE: Counter(), SERVICE: Counter()}
    )
    rejections: list[dict] = field(default_factory=list)
    warnings: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "compteurs": {k: {c: v.get(c, 0) for c in COUNTERS} for k, v in self.counts.items()},
            "rejets": self.rejections[:REPORT_REJECTIONS_MAX],
            "rejets_total": sum(v["rejetes"] for v in self.counts.values()),
            "avertissements": {limits.strip_control(k): v for k, v in self.warnings.most_common()},
        }


@dataclass
class _Prepared:
    """One batch normalised and validated, ready to be written. The rows cross to
    the writer as the JSON text that the upsert reads (`payloads`, one array per
    kind; `keys` in the same order): passing text between processes costs far less
    than pickling the rows (42 µs a record, measured)."""

    count: int  # records read
    rows: dict[str, dict[tuple[str, str], dict]] | None = field(
        default_factory=lambda: {STRUCTURE: {}, SERVICE: {}}
    )
    payloads: dict[str, str] = field(default_factory=dict)
    keys: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # Rows still to be placed by the writer (a geocoder is configured: it reads the
    # database): their `_place` is in the payload.
    unplaced: bool = False
    # Rows with coordinates, whose commune the writer checks against the contours
    # (catalogue.places): (kind, index in the payload, (code, postal code, commune,
    # lon, lat)).
    located: list[tuple[str, int, tuple]] = field(default_factory=list)
    located_seconds: float = 0.0  # spent checking them (writer)
    # Services whose structure the file has not given (so far): the raw record, to
    # quarantine the service if the catalogue has not the structure either.
    origin: dict[tuple[str, str, str], tuple[int, RawRecord, tuple[str, str]]] = field(default_factory=dict)
    quarantine: list[dict] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    seen: dict[str, set[tuple[str, str]]] = field(
        default_factory=lambda: {STRUCTURE: set(), SERVICE: set()}
    )
    rejected_inputs: set[int] = field(default_factory=set)
    seconds: float = 0.0  # spent preparing it
    created: dict[str, list[uuid.UUID]] = field(default_factory=lambda: {STRUCTURE: [], SERVICE: []})

    def attempt(self) -> _Prepared:
        """A copy for one attempt at writing it: what writing changes (quarantine,
        report, payloads) starts afresh if the attempt is retried."""
        return _Prepared(
            count=self.count, rows=None, payloads=dict(self.payloads), keys=self.keys,
            unplaced=self.unplaced, located=self.located, origin=self.origin, quarantine=list(self.quarantine),
            report=copy.deepcopy(self.report), seen=self.seen,
            rejected_inputs=set(self.rejected_inputs), seconds=self.seconds,
        )


@dataclass
class _Failure:
    """An exception of the worker process, for the writer to raise."""

    error: BaseException


def _json_default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(type(value))


def dumps(value) -> str:
    """JSON text (orjson: dates, datetimes and UUIDs as ISO strings, NaN as null)."""
    return orjson.dumps(value, default=_json_default).decode()


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
    selected = ", ".join("st.id" if c == "structure_id" else f"r.{c}" for c in insert_cols)
    source = f"jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({declared}"
    if kind == SERVICE:
        source += (", structure_source text, structure_source_id text) "
                   "JOIN structure st ON st.source = r.structure_source AND st.source_id = r.structure_source_id")
    else:
        source += ")"
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


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """In a forked child: be killed when the parent dies (Linux: PR_SET_PDEATHSIG;
    elsewhere a thread watches the parent's pid). If the parent is already gone, exit."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        ok = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        ok = False
    if os.getppid() != parent_pid:  # died before prctl took effect
        os._exit(1)
    if not ok:
        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(1)
            os._exit(1)

        threading.Thread(target=watch, name="import-watch-parent", daemon=True).start()


def _process_stat(pid: int) -> tuple[bytes, datetime] | None:
    """(state, start time) of process `pid` of this host (Linux /proc); None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith(b"btime"))
        started = datetime.fromtimestamp(boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")).astimezone()
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return fields[0], started


def process_alive(pid: int, since: datetime | None = None) -> bool:
    """Whether process `pid` of this host is alive (not gone, not a zombie) — and,
    given when the run started, is the one that started it (not a later process
    given the same number)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _process_stat(pid)
    if stat is None:
        return True
    state, started = stat
    if state == b"Z":
        return False
    return since is None or started <= since + timedelta(seconds=2)


def mark_interrupted(session: Session) -> list[int]:
    """Runs « en-cours » of this host whose process no longer exists become
    « interrompu » (their committed batches stay; the database rolled back the one
    in flight). Runs of other hosts are left: their processes cannot be seen here."""
    host = socket.gethostname()
    runs = session.execute(
        select(ImportRun.id, ImportRun.pid, ImportRun.started_at)
        .where(ImportRun.status == "en-cours", ImportRun.host == host, ImportRun.pid.is_not(None))
    ).all()
    dead = [r.id for r in runs if r.pid != os.getpid() and not process_alive(r.pid, r.started_at)]
    if dead:
        session.execute(
            update(ImportRun).where(ImportRun.id.in_(dead), ImportRun.status == "en-cours").values(
                status="interrompu", finished_at=datetime.now().astimezone(),
                error="interrompu : le processus de l'import s'est arrêté avant la fin "
                      "(les lots déjà validés restent ; relancer l'import le termine)",
            )
        )
    return dead


class Loader:
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

    # --- the run ------------------------------------------------------------

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
        self._pipeline(self._batches(records))
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
            for kind, found in duplicates.flag(session, self.created).items():
                self.report.counts[kind]["doublons"] += found
            # Each new duplicate suggestion goes to the moderators' queue.
            moderation.sync_duplicates(session)
            self._save_report(session, finished=True, error=str(refused) if refused else None)
        self.timings["fin"] += time.perf_counter() - started
        if refused is not None:
            refused.run_id = self.run_id
            raise refused
        return self.run_id

    def _pipeline(self, batches: Iterator[list[tuple[int, RawRecord]]]) -> None:
        if "fork" not in multiprocessing.get_all_start_methods():
            for batch in batches:
                self._write_batch(self._prepare(batch))
            return
        context = multiprocessing.get_context("fork")
        # At most PIPELINE_DEPTH prepared batches wait while one is written: bounded memory.
        queue = context.Queue(maxsize=PIPELINE_DEPTH)
        # The child inherits the loader (referentiel, normaliser, options) as it is now;
        # buffered output is flushed first or the child would print it again.
        sys.stdout.flush()
        sys.stderr.flush()
        worker = context.Process(target=self._prepare_all, args=(batches, queue),
                                 name="import-prepare", daemon=True)
        self._parent_pid = os.getpid()
        # No database connection crosses the fork: the pool's idle connections are
        # closed first (the writer opens new ones), so that the child holds no socket
        # of the parent's sessions — were the parent killed, its backends would stay
        # « idle in transaction », with their locks, as long as the child lived.
        self._release_connections()
        # The objects inherited by the child stay out of its garbage collections (else
        # each full collection walks, and so copies, the parent's whole heap).
        gc.freeze()
        try:
            worker.start()
        finally:
            gc.unfreeze()
        writing = _Writers(self)
        try:
            while True:
                waited = time.perf_counter()
                try:
                    message = queue.get(timeout=1)
                except Empty:
                    self.timings["attente"] += time.perf_counter() - waited
                    if not worker.is_alive():
                        raise RuntimeError(
                            f"la préparation des lots s'est arrêtée (code {worker.exitcode})"
                        ) from None
                    continue
                if message is None:
                    break
                self.timings["attente"] += time.perf_counter() - waited
                if isinstance(message, _Failure):
                    raise message.error
                writing.submit(message)
            writing.finish()
        finally:
            writing.close()
            if worker.is_alive():
                worker.kill()
            worker.join()
            queue.close()
            queue.cancel_join_thread()

    def _release_connections(self) -> None:
        """Close the idle connections of the sessions' engine (none is checked out
        between batches). Sessions bound to one connection (the tests') keep it: the
        child never uses it and dies with the parent."""
        bind = self.sessions.kw.get("bind")
        if isinstance(bind, Engine) and bind.pool.checkedout() == 0:
            bind.dispose()

    def _prepare_all(self, batches: Iterator[list[tuple[int, RawRecord]]], queue) -> None:
        """In the worker process: prepare each batch and queue it for the writer.
        The worker dies with its parent (a killed import leaves no process behind).
        The cyclic garbage collector runs once per batch instead of every 700
        allocations (it took a third of the preparation: records make many objects,
        and no cycles)."""
        die_with_parent(self._parent_pid)
        bind = self.sessions.kw.get("bind")
        if isinstance(bind, Engine):  # never touch a connection of the parent's pool
            bind.dispose(close=False)
        gc.disable()
        try:
            for batch in batches:
                queue.put(self._prepare(batch))
                gc.collect()
            queue.put(None)
        except BaseException as exc:  # given to the writer, which raises it
            try:
                pickle.dumps(exc)
            except Exception:  # not picklable: its message at least
                exc = RuntimeError(str(exc))
            queue.put(_Failure(exc))
        queue.close()
        queue.join_thread()

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

    def _batches(self, records: Iterable[RawRecord]) -> Iterator[list[tuple[int, RawRecord]]]:
        iterator: Iterator[tuple[int, RawRecord]] = iter(enumerate(records))
        while batch := list(islice(iterator, self.batch_size)):
            yield batch

    def _save_report(self, session: Session, finished: bool = False, error: str | None = None) -> None:
        values: dict[str, Any] = {"report": self.report.as_dict()}
        if finished:
            values.update(status="termine", finished_at=datetime.now().astimezone(), error=error)
        session.execute(update(ImportRun).where(ImportRun.id == self.run_id).values(**values))

    # --- one batch ----------------------------------------------------------

    def _prepare(self, batch: list[tuple[int, RawRecord]]) -> _Prepared:
        """Normalise and validate one batch: no database, no shared state (its counts
        and warnings go to the batch's own report, merged when the batch is written)."""
        started = time.perf_counter()
        prepared = _Prepared(len(batch))
        report = prepared.report
        rows, origin, quarantine = prepared.rows, prepared.origin, prepared.quarantine
        pending: list[tuple[int, RawRecord, Item]] = []
        for position, record in batch:
            # The caps (importers.limits), before the normaliser spends anything on it;
            # an ordinary record costs one comparison.
            if record.size is None or record.size > limits.SMALL:
                over = limits.check_record(record.data, record.size)
                if over is not None:
                    data = record.data
                    kind = record.kind or (SERVICE if "structure_id" in data else "enregistrement")
                    source, ident = (str(data.get(k) or "")[:300] if isinstance(data.get(k), (str, int)) else ""
                                     for k in ("source", "id"))
                    record = RawRecord(limits.abridge(data), kind=record.kind, line=record.line)
                    pending.append((position, record, Item(kind=kind, source=source[:100], source_id=ident,
                                                           data={}, raw=None, errors=over)))
                    continue
            try:
                items = self.normalise(record, self.options)
            except Exception as exc:  # a normaliser bug must not lose the record
                items = [Item(kind="enregistrement", source="", source_id="", data={}, raw=record.data,
                              errors={"enregistrement": [f"illisible : {exc}"]})]
            for item in items:
                pending.append((position, record, item))
        for position, record, item in pending:
            kind = item.kind if item.kind in (STRUCTURE, SERVICE) else STRUCTURE
            report.counts[kind]["lus"] += 1
            for warning in item.warnings:
                report.warnings[warning] += 1
            if not (item.source_id.isprintable() and item.source.isprintable()
                    and (item.structure_key is None or item.structure_key[1].isprintable())):
                self._refuse_control_in_key(item)  # rare: the test above is fast
            if item.source_id:
                prepared.seen[kind].add((item.source, item.source_id))
            errors = item.errors
            row = None
            if errors is None:
                if not item.source or not item.source_id:
                    errors = {"id": ["identifiant ou source absent"]}
                elif len(item.source) > 100:
                    errors = {"source": ["trop long (100 caractères au plus)"]}
                elif len(item.source_id) > 300:
                    errors = {"id": ["trop long (300 caractères au plus)"]}
                else:
                    row, errors = self._validate(item, report)
            if errors:
                quarantine.append(self._reject(prepared, kind, item, record, position, errors))
                continue
            key = (item.source, item.source_id)
            if key in rows[kind]:
                # Repeated (a partner's structure on each row of its offers): counted once.
                report.counts[kind]["lus"] -= 1
                previous = {k: v for k, v in rows[kind][key].items() if k not in ("id", "raw")}
                if previous != {k: v for k, v in row.items() if k not in ("id", "raw")}:
                    report.warnings[f"{kind} en double dans le fichier (le dernier l'emporte)"] += 1
            rows[kind][key] = row
            if kind == SERVICE:  # to quarantine it if its structure is unknown
                origin[(kind, *key)] = (position, record, tuple(item.structure_key or ("", "")))
        self._serialise(prepared)
        prepared.seconds = time.perf_counter() - started
        return prepared

    def _serialise(self, prepared: _Prepared) -> None:
        """Place the rows (source coordinates, else the commune's centre; with a
        geocoder, the writer places them) and write them as JSON for the writer."""
        rows = prepared.rows
        self._file_structures.update(rows[STRUCTURE])
        prepared.unplaced = self.geocoder is not None
        for kind, kind_rows in rows.items():
            for index, row in enumerate(kind_rows.values()):
                where = row.pop("_where", None)
                if where is not None:
                    prepared.located.append((kind, index, where))
                if not prepared.unplaced:
                    row["location"], row["location_precision"] = self._place(row.pop("_place"))
                if kind == SERVICE:
                    row["structure_source"], row["structure_source_id"] = row.pop("_structure_key")
            prepared.keys[kind] = list(kind_rows)
            payload = orjson.dumps(list(kind_rows.values()), default=_json_default)
            if limits.payload_may_hold_control(payload):  # rare: one search of the batch's bytes
                payload = self._strip_control(prepared, kind_rows)
            prepared.payloads[kind] = payload.decode()
        prepared.origin = {
            key: value for key, value in prepared.origin.items()
            if value[2] not in self._file_structures
        }
        prepared.rows = None

    @staticmethod
    def _refuse_control_in_key(item: Item) -> None:
        """An id or a source holding a control character is refused (a key must be
        written as it is read, and PostgreSQL refuses \\u0000 in text)."""
        structure_id = item.structure_key[1] if item.structure_key else ""
        named = [(name, value) for name, value in (("id", item.source_id), ("source", item.source),
                                                     ("structure_id", structure_id)) if limits.has_control(value)]
        if named:
            item.errors = {**(item.errors or {}), **{name: ["caractère de contrôle (invisible) refusé"]
                                                     for name, _ in named}}
            item.source_id, item.source = limits.strip_control(item.source_id), limits.strip_control(item.source)
            if item.structure_key:
                item.structure_key = tuple(limits.strip_control(list(item.structure_key)))

    @staticmethod
    def _strip_control(prepared: _Prepared, rows: dict) -> bytes:
        """The rows' control characters removed (PostgreSQL refuses \\u0000; the
        others are invisible noise), each field named in a warning."""
        for row in rows.values():
            for name in limits.fields_with_control(row):
                row[name] = limits.strip_control(row[name])
                label = "donnée brute" if name == "raw" else name
                prepared.report.warnings[f"caractères de contrôle retirés : {label}"] += 1
        return orjson.dumps(list(rows.values()), default=_json_default)

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
        payloads[SERVICE] = self._keep_taken_over(session, prepared, services)
        # The orphans' rows stay in the payload: the upsert's join leaves them out.
        self._upsert(session, prepared, SERVICE, len(services))
        if quarantine:
            session.execute(insert(QuarantinedRecord), quarantine)
        loaded = [(STRUCTURE, *k) for k in keys[STRUCTURE]] + [(SERVICE, *k) for k in services]
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
        for kind, changed in changes.items():
            rows = orjson.loads(prepared.payloads[kind])
            for index, (code, cp, name) in changed.items():
                rows[index].update(code_insee=code, code_postal=cp, commune=name)
            prepared.payloads[kind] = dumps(rows)

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
    def _patch(payload: str, change: Callable[[dict], None]) -> str:
        """The rows of a payload changed by the writer (a rare path: geocoding,
        fields taken over by a structure)."""
        rows = orjson.loads(payload)
        for row in rows:
            change(row)
        return dumps(rows)

    def _place_row(self, row: dict) -> None:
        if "_place" in row:
            row["location"], row["location_precision"] = self._place(tuple(row.pop("_place")))

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

    def _validate(self, item: Item, report: Report) -> tuple[dict | None, dict | None]:
        data = dict(item.data)
        lon, lat = data.get("longitude"), data.get("latitude")
        if lon is not None or lat is not None:
            ok = isinstance(lon, (int, float)) and isinstance(lat, (int, float)) and in_france(lon, lat)
            if not ok:
                data["longitude"] = data["latitude"] = None
                report.warnings["coordonnées absentes ou hors de France ignorées"] += 1
        ref = self.referentiel
        if item.prevalidated:
            clean, errors = data, self._extra_rules(data)
        else:
            try:
                clean = self.schemas[item.kind].load(data)
            except MarshmallowError as exc:
                return None, {k: (v if isinstance(v, list) else [str(v)]) for k, v in exc.messages.items()}
            errors = {}
        located = places.has_point(clean.get("longitude"), clean.get("latitude"))
        if located and clean.get("code_insee") in ref.places and not clean.get("commune"):
            clean["commune"] = ref.places.nom[ref.places.current(clean["code_insee"])]
        where = (clean.get("code_insee"), clean.get("code_postal"), clean.get("commune"))
        if not located:  # else checked against the contours when written
            outcome = places.reconcile(ref.places, *where)
            if outcome.error:
                errors.setdefault("code_insee", []).append(outcome.error)
            clean.update(code_insee=outcome.code_insee, code_postal=outcome.code_postal, commune=outcome.commune)
            for repair in outcome.repairs:
                report.warnings[repair] += 1
        if item.kind == SERVICE:
            try:
                clean["zone_eligibilite"] = ref.normalise_zone(clean.get("zone_eligibilite") or [])
            except UnknownCode as exc:
                errors.setdefault("zone_eligibilite", []).append(f"{exc.kind} inconnu(e) : {exc.code}")
            except ZoneError as exc:
                errors.setdefault("zone_eligibilite", []).append(str(exc))
        if errors:
            return None, errors
        row = {c: clean.get(c) for c in COLUMNS[item.kind] if c != "structure_id"}
        for c in ("thematiques", "publics", "modes_accueil", "modes_mobilisation",
                  "mobilisable_par", "reseaux_porteurs"):
            if c in row:
                row[c] = sorted(set(row[c] or []))
        if item.kind == SERVICE:
            row["_structure_key"] = item.structure_key
        row.update(id=str(uuid.uuid4()), source=item.source, source_id=item.source_id,
                   raw=item.raw, status=item.status or "publie", source_status=item.source_status)
        # Placed when written (the communes' centres are read then).
        row["_place"] = (clean.get("longitude"), clean.get("latitude"), clean.get("adresse"),
                         clean.get("code_insee"))
        if located:
            row["_where"] = (*where, clean["longitude"], clean["latitude"])
        return row, None

    def _extra_rules(self, data: dict) -> dict[str, list[str]]:
        """The catalogue's rules that the data·inclusion v1 models do not check."""
        return rules_beyond_di_models(data)

    def _place(self, place: tuple) -> tuple[str | None, str | None]:
        lon, lat, adresse, code_insee = place
        if lon is not None and lat is not None:
            return f"SRID=4326;POINT({lon} {lat})", "source"
        if self.geocoder is not None and adresse:
            found = self.geocoder.locate(adresse, code_insee)
            if found is not None and in_france(found.lon, found.lat):
                return f"SRID=4326;POINT({found.lon} {found.lat})", found.precision
        centre = self.referentiel.centre(code_insee)
        if centre is not None:
            return f"SRID=4326;POINT({centre[0]} {centre[1]})", "commune"
        return None, None

    def _upsert(self, session: Session, prepared: _Prepared, kind: str, expected: int) -> None:
        """Write a payload's rows; `expected` of them can be written (the others are
        orphans, left out by the statement)."""
        if not expected:
            return
        result = session.execute(text(self._sql[kind]), {"rows": prepared.payloads[kind]}).all()
        counts = prepared.report.counts[kind]
        for r in result:
            if r.inserted:
                counts["crees"] += 1
                prepared.created[kind].append(r.id)
            else:
                counts["modifies"] += 1
        counts["inchanges"] += expected - len(result)

    def _keep_taken_over(self, session: Session, prepared: _Prepared, services: list[tuple[str, str]]) -> str:
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

        return self._patch(payload, keep)

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
