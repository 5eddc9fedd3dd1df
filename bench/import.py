"""Import benchmark: the national-shaped benchmark catalogue (bench/catalogue.py:
25,000 structures and 100,000 services from twenty sources, in data·inclusion v1
NDJSON, structures and services in their own files), imported end to end (framing pass, validation, upsert with the audit and
outbox triggers on, duplicates) into a dedicated database, then imported again
(everything unchanged). Prints throughput and peak RSS.

    .venv/bin/python bench/import.py [--structures 25000] [--services 100000] [--keep] [--durable]

The tests' cluster (var/pg-test) runs without durability (fsync, synchronous_commit and
full_page_writes off). --durable runs on a cluster of its own, var/pg-bench-durable,
started by bin/pgcluster as production runs (all three on): the difference is what
durability costs. The mode measured is printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import hostspeed  # noqa: E402  (bench/, beside this script)
import siblings  # noqa: E402  (bench/, beside this script)


def _durable_server() -> str:
    """The URL of a cluster of its own with production's durability (bin/pgcluster's
    default), started if need be."""
    env = dict(os.environ, OFFRE_PG_DATA=str(ROOT / "var" / "pg-bench-durable"), OFFRE_PG_DURABLE="1")
    subprocess.run([str(ROOT / "bin/pgcluster"), "start"], check=True, env=env)
    return subprocess.run([str(ROOT / "bin/pgcluster"), "url", "postgres"], check=True,
                          capture_output=True, text=True, env=env).stdout.strip()


def _durability(engine) -> str:
    from sqlalchemy import text

    with engine.connect() as conn:
        values = [conn.scalar(text(f"SHOW {name}")) for name in ("fsync", "synchronous_commit", "full_page_writes")]
    return "fsync {}, synchronous_commit {}, full_page_writes {}".format(*values)


def _peak_mb(reset: bool = False) -> float:
    """The process's peak RSS (VmHWM) in MB; `reset` starts it afresh (Linux's
    clear_refs), so that each import's own peak is measured."""
    status = Path("/proc/self/status").read_text()
    peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
    if reset:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass
    return peak


# --without: the triggers of each kind of work done for every written row.
TRIGGERS = {
    "search": [("service", "service_search_insert"), ("service", "service_search_update"),
               ("structure", "structure_search_update")],
    "audit": [("structure", "structure_audit_insert"), ("structure", "structure_audit_update"),
              ("service", "service_audit_insert"), ("service", "service_audit_update")],
    "outbox": [("service", "service_outbox_insert"), ("service", "service_outbox_update"),
               ("structure", "structure_outbox")],
}


def _disable(engine, kinds: list[str]) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        for kind in kinds:
            for table, trigger in TRIGGERS[kind]:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--structures", type=int, default=25_000)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--durable", action="store_true",
                        help="on a durable cluster (fsync, synchronous_commit, full_page_writes on)")
    parser.add_argument("--without", default="", metavar="KINDS",
                        help="what each kind of trigger work costs: search, audit, outbox (comma-separated) "
                             "disabled in the benchmark's own database — an import never runs so")
    args = parser.parse_args()
    without = [k for k in args.without.split(",") if k]
    if unknown := set(without) - set(TRIGGERS):
        parser.error(f"--without : inconnu {sorted(unknown)} (search, audit, outbox)")
    if args.durable:
        os.environ["TEST_DATABASE_URL"] = _durable_server()

    from catalogue.db import make_engine, make_sessionmaker
    from importers import load, registry
    from tests import dbsetup

    server = dbsetup.server_url()
    template = dbsetup.build_template(server)
    url = dbsetup.create_test_database(server, template, label="bench_import_")
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        catalogue = siblings.load("catalogue")
        communes = catalogue.load_communes(url)
        print(f"durability: {_durability(engine)}")
        if without:
            _disable(engine, without)
            print(f"COUNTERFACTUAL: triggers {', '.join(without)} disabled (what they cost; not an import)")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "catalogue"
            t0 = time.perf_counter()
            files = catalogue.generate(path, args.structures, args.services, communes, seed=args.seed)
            size = sum(f.stat().st_size for f in files) / 1e6
            print(f"generated {', '.join(f.name for f in files)}: {args.structures} structures + "
                  f"{args.services} services, {size:.0f} MB in {time.perf_counter() - t0:.1f} s")
            for label in ("first import (all created)", "second import (all unchanged)"):
                _peak_mb(reset=True)
                t0 = time.perf_counter()
                loader = registry.run_import(sessions, "data-inclusion", str(path), Path(tmp),
                                             batch_size=args.batch_size)
                elapsed = time.perf_counter() - t0
                report = loader.report.as_dict()
                c = report["compteurs"]
                total = args.structures + args.services
                print(f"{label}: {elapsed:.1f} s — {args.services / elapsed:,.0f} services/s, "
                      f"{total / elapsed:,.0f} records/s; structures {c['structure']}, services {c['service']}")
                t = loader.timings
                print(f"  writers: {t['ecriture']:.1f} s writing batches (database included; summed over "
                      f"the {load.WRITERS} writing threads), "
                      f"{t['attente']:.1f} s waiting for the worker, {t['fin']:.1f} s final steps "
                      f"(snapshot, duplicates); worker: {t['preparation']:.1f} s preparing")
                print(f"  of the writing: {t['lieux']:.1f} s checking the places against the communes' "
                      f"contours (catalogue.places); of the final steps: {t['doublons']:.1f} s flagging "
                      f"the duplicates")
                print(f"  peak RSS of the importing process during this import: {_peak_mb():.0f} MB")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # The batches are prepared in a forked worker process (importers.load).
        worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak RSS: {peak_mb:.0f} MB (worker process preparing the batches: {worker_mb:.0f} MB)")
        cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
        load1, load5, _ = os.getloadavg()
        print(f"machine: {cpus} CPU(s), load average {load1:.1f} (1 min), {load5:.1f} (5 min); "
              f"{hostspeed.describe()}")
    finally:
        engine.dispose()
        if not args.keep:
            dbsetup.drop_database(server, url)


if __name__ == "__main__":
    main()
