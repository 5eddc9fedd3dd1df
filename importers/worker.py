"""The preparation of an import's batches (importers.load): read, normalised,
validated and placed in a forked worker process (Python only, no database) while
the writers (importers.writers) write the previous batch; the worker dies with
its parent."""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from queue import Empty

import orjson
from marshmallow import ValidationError as MarshmallowError
from sqlalchemy.engine import Engine

from catalogue import places
from catalogue.schemas import in_france, rules_beyond_di_models
from geo.errors import UnknownCode, ZoneError
from importers import limits
from importers.framing import COLUMNS, _json_default, _Prepared
from importers.readers import RawRecord
from importers.records import SERVICE, STRUCTURE, Item
from importers.report import Report
from importers.writers import _Writers

# Prepared batches that may wait for the writer (each is batch_size records).
PIPELINE_DEPTH = 2
# Batches between two full garbage collections of the worker (_prepare_all).
FULL_GC_EVERY = 10


@dataclass
class _Failure:
    """An exception of the worker process, for the writer to raise."""

    error: BaseException


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


class _Preparing:
    """The Loader's preparation side: the pipeline to the worker process, and one
    batch normalised, validated and serialised."""

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
        and no cycles): the youngest generation after each batch, all of them every
        FULL_GC_EVERY batches (a full pass walks the run's sets of keys each time)."""
        die_with_parent(self._parent_pid)
        bind = self.sessions.kw.get("bind")
        if isinstance(bind, Engine):  # never touch a connection of the parent's pool
            bind.dispose(close=False)
        gc.disable()
        try:
            for number, batch in enumerate(batches, start=1):
                queue.put(self._prepare(batch))
                gc.collect(2 if number % FULL_GC_EVERY == 0 else 0)
            queue.put(None)
        except BaseException as exc:  # given to the writer, which raises it
            try:
                pickle.dumps(exc)
            except Exception:  # not picklable: its message at least
                exc = RuntimeError(str(exc))
            queue.put(_Failure(exc))
        queue.close()
        queue.join_thread()

    def _batches(self, records: Iterable[RawRecord]) -> Iterator[list[tuple[int, RawRecord]]]:
        iterator: Iterator[tuple[int, RawRecord]] = iter(enumerate(records))
        while batch := list(islice(iterator, self.batch_size)):
            yield batch

    def _prepare(self, batch: list[tuple[int, RawRecord]]) -> _Prepared:
        """Normalise and validate one batch: no database, no shared state (its counts
        and warnings go to the batch's own report, merged when the batch is written).
        A record known unchanged by its digest is only counted (importers.digests);
        should another record of the batch have its key, the batch is prepared again
        without skipping any (a repeated record is compared with the one before it)."""
        started = time.perf_counter()
        prepared, pending, added = self._read(batch, skip=True)
        if pending is None:
            self._run_keys.difference_update(added)
            prepared, pending, _ = self._read(batch, skip=False)
        self._file_structures.update(prepared.skipped[STRUCTURE])
        report = prepared.report
        rows, origin, quarantine = prepared.rows, prepared.origin, prepared.quarantine
        for position, record, item, digest in pending:
            kind = item.kind if item.kind in (STRUCTURE, SERVICE) else STRUCTURE
            report.counts[kind]["lus"] += 1
            warned = report.warnings.total()
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
            if digest is not None and not item.warnings and report.warnings.total() == warned \
                    and key not in rows[kind]:
                prepared.digests[kind][key] = digest
            if key in rows[kind]:
                # Repeated (a partner's structure on each row of its offers): counted once.
                prepared.digests[kind].pop(key, None)
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

    def _read(self, batch: list[tuple[int, RawRecord]], skip: bool) -> tuple[_Prepared, list | None, list]:
        """The batch's records normalised: (position, record, item, the record's digest
        when it gives one item), the records known unchanged counted instead (`skip`);
        None when a record repeats the key of one skipped. And the keys new to the run."""
        prepared = _Prepared(len(batch))
        pending: list[tuple[int, RawRecord, Item, bytes | None]] = []
        digests, known, run_keys = self._digests, self._known if skip else {}, self._run_keys
        skipped: set[tuple[str, str, str]] = set()
        added: list[tuple[str, str, str]] = []
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
                                                           data={}, raw=None, errors=over), None))
                    continue
            digest = digests.of(record) if digests is not None else None
            hit = known.get(digest) if digest is not None else None
            if hit is not None and hit not in run_keys:
                kind, key = hit[0], hit[1:]
                run_keys.add(hit)
                added.append(hit)
                skipped.add(hit)
                prepared.skipped[kind].append(key)
                prepared.seen[kind].add(key)
                prepared.report.counts[kind]["lus"] += 1
                prepared.report.counts[kind]["inchanges"] += 1
                continue
            try:
                items = self.normalise(record, self.options)
            except Exception as exc:  # a normaliser bug must not lose the record
                items = [Item(kind="enregistrement", source="", source_id="", data={}, raw=record.data,
                              errors={"enregistrement": [f"illisible : {exc}"]})]
            for item in items:
                run_key = (item.kind, item.source, item.source_id)
                if run_key in skipped:
                    return prepared, None, added
                if run_key not in run_keys:
                    run_keys.add(run_key)
                    added.append(run_key)
                pending.append((position, record, item, digest if len(items) == 1 else None))
        return prepared, pending, added

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
                payload = self._strip_control(prepared, kind, kind_rows)
            prepared.payloads[kind] = payload
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
    def _strip_control(prepared: _Prepared, kind: str, rows: dict) -> bytes:
        """The rows' control characters removed (PostgreSQL refuses \\u0000; the
        others are invisible noise), each field named in a warning."""
        for key, row in rows.items():
            for name in limits.fields_with_control(row):
                prepared.digests[kind].pop(key, None)
                row[name] = limits.strip_control(row[name])
                label = "donnée brute" if name == "raw" else name
                prepared.report.warnings[f"caractères de contrôle retirés : {label}"] += 1
        return orjson.dumps(list(rows.values()), default=_json_default)

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
