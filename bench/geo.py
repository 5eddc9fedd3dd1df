"""Geo benchmark: commune lookup latency, and (with --load) the référentiel load.

    .venv/bin/python bench/geo.py [--lookups 1000] [--load]

The database is DATABASE_URL when set, else `offre_bench_geo` in the private
cluster (./var/pg), copied from the test template (migrations + the whole
référentiel) when missing. The lookups are `geo.lookup.find_communes` calls, as
the forms and the API make them, on a fixed mix drawn (seeded) from the communes
weighted by population: name prefixes of 3 to 8 characters, whole names typed
loosely (no accents, "st", apostrophes as spaces), postal codes, beginnings of
postal codes and INSEE codes. Prints p50/p95/p99/max per kind and overall.

--load also times `load_referentiel` for the whole of France into an empty,
freshly migrated database `offre_bench_geoload` (dropped and created again), twice,
and checks that the second run gives the same counts.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.lookup import find_communes  # noqa: E402
from tests import dbsetup  # noqa: E402


def _fresh(server: str, name: str, template: str | None) -> str:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return dbsetup._with_db(server, name)


def lookup_database() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    server = dbsetup.server_url()
    name = "offre_bench_geo"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    admin.dispose()
    if exists:
        return dbsetup._with_db(server, name)
    return _fresh(server, name, dbsetup.build_template(server))


def _loose(nom: str, rng: random.Random) -> str:
    """A name as people type it: no accents, "st", spaces for hyphens, lower case."""
    from geo.names import fold

    typed = fold(nom)
    if rng.random() < 0.5:
        typed = typed.replace("saint ", "st ").replace("sainte ", "ste ")
    return typed


def query_mix(session: Session, count: int, seed: int = 2026) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = session.execute(
        text(
            "SELECT code, nom, codes_postaux, greatest(coalesce(population, 0), 50) AS w "
            "FROM geo_commune WHERE type = 'COM' AND cardinality(codes_postaux) > 0 ORDER BY code"
        )
    ).all()
    weights = [r.w ** 0.5 for r in rows]  # people look big towns up more, not only them
    picked = rng.choices(rows, weights=weights, k=count)
    kinds = ["prefix", "prefix", "name", "name", "postal", "postal-prefix", "insee"]
    mix = []
    for i, row in enumerate(picked):
        kind = kinds[i % len(kinds)]
        if kind == "prefix":
            typed = _loose(row.nom, rng)
            q = typed[: rng.randint(3, 8)].strip() or typed
        elif kind == "name":
            q = _loose(row.nom, rng)
        elif kind == "postal":
            q = rng.choice(row.codes_postaux)
        elif kind == "postal-prefix":
            q = rng.choice(row.codes_postaux)[:3]
        else:
            q = row.code
        mix.append((kind, q))
    return mix


def _percentiles(values: list[float]) -> str:
    values = sorted(values)
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {q[49]:6.2f} ms  p95 {q[94]:6.2f} ms  p99 {q[98]:6.2f} ms  max {values[-1]:6.2f} ms"


def bench_lookups(url: str, count: int) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        communes = session.scalar(text("SELECT count(*) FROM geo_commune"))
        if not communes:
            raise SystemExit("Référentiel vide : lancez d'abord `offre geo load`.")
        mix = query_mix(session, count)
        for _, q in mix[:50]:  # warm the cache and the connection
            find_communes(session, q)
        timings: dict[str, list[float]] = {}
        misses = []
        for kind, q in mix:
            started = time.perf_counter()
            found = find_communes(session, q)
            timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
            if not found:
                misses.append(q)
    engine.dispose()
    everything = [t for values in timings.values() for t in values]
    print(f"{len(everything)} lookups on {communes} communes (find_communes, limit 10)")
    for kind, values in timings.items():
        print(f"  {kind:<14} n={len(values):4d}  {_percentiles(values)}")
    print(f"  {'all':<14} n={len(everything):4d}  {_percentiles(everything)}")
    print(f"  lookups that found nothing: {len(misses)}" + (f" (e.g. {misses[:5]})" if misses else ""))


def bench_load() -> None:
    from alembic import command

    from geo.loader import load_referentiel
    from web.commands.base import alembic_config

    server = dbsetup.server_url()
    url = _fresh(server, "offre_bench_geoload", None)
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    results = []
    for run in ("first load (empty tables)", "second load (same data)"):
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            counts = load_referentiel(session)
        results.append(counts)
        print(f"{run}: {time.perf_counter() - started:.1f} s — {counts}")
    print("same counts:", results[0] == results[1])
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--load", action="store_true", help="also time the whole référentiel load")
    args = parser.parse_args()
    url = lookup_database()  # before the load: alembic's config sets DATABASE_URL
    if args.load:
        bench_load()
    bench_lookups(url, args.lookups)


if __name__ == "__main__":
    main()
