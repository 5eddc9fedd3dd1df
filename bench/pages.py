"""Benchmark of the results page: server-side render time of /recherche on a
100,000-service catalogue (target: p95 at most 60 ms).

    .venv/bin/python bench/pages.py [--database NAME] [--services 100000] [--runs 60]

Reads the search benchmark's catalogue `offre_bench_<services>` (built first by
bench/search.py --services N: services spread over France by population), or
`--database NAME` of the same cluster. Queries mix communes of the Aisne, SPIE
thematics, free text and filters (the département that deploys the service: its
people search there, whatever the catalogue). SEARCH_CACHE_SIZE as configured
(search.cache: the filter counts of a commune are shared by its searches). It prints its figures; it is not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, make_url, text  # noqa: E402

COMMUNES = ["02408", "02691", "02722", "02173", "02381", "02168", "02810", "02049"]
GROUPS = ["mobilite", "logement", "emploi-formation", "sante", "garde-enfant-famille", "acces-aux-droits", ""]
EXTRA = ["", "", "&frais=gratuit", "&publics=jeunes", "&q=permis", "&q=numerique", "&tri=distance", "&page=2"]


def _exists(name: str, server_url: str) -> bool:
    engine = create_engine(server_url)
    with engine.connect() as c:
        found = c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    engine.dispose()
    return bool(found)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(0.95 * len(ordered))) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--after-change", action="store_true",
                        help="start as after a catalogue change: the shared search cache emptied, then what "
                             "the search worker prepares (search.national.warm)")
    args = parser.parse_args()

    from tests import dbsetup

    server = dbsetup.server_url()
    name = args.database or f"offre_bench_{args.services}"  # bench/search.py --services N builds it
    if not _exists(name, server):
        sys.exit(f"{name} is missing: build it with bench/search.py --services {args.services}")
    url = make_url(server).set(database=name).render_as_string(hide_password=False)  # read only

    from web.app import create_app
    from web.settings import Settings

    app = create_app(Settings(database_url=url, tiles_url="", offre_env="development",
                              search_cache_size=int(os.environ.get("SEARCH_CACHE_SIZE", "1000"))))
    try:  # as a worker of `offre serve` once the app is loaded (absent from older trees)
        from web.gunicorn_conf import post_worker_init
    except ImportError:
        pass
    else:
        post_worker_init(None)
    client = app.test_client()
    engine = app.extensions["offre"]["engine"]
    with engine.connect() as c:
        n = c.scalar(text("SELECT count(*) FROM service WHERE status = 'publie'"))

    if args.after_change:
        after_change(app)

    rng = random.Random(args.seed)
    urls = [
        f"/recherche?code_commune={rng.choice(COMMUNES)}"
        + (f"&thematiques={g}" if (g := rng.choice(GROUPS)) else "")
        + rng.choice(EXTRA)
        for _ in range(args.runs)
    ]
    # Time the engine's share apart: the page's own work is the rest.
    from web import search_

    engine_ms: list[float] = []
    run_search = search_.run_search

    def timed_run_search(*a, **kw):
        t0 = time.perf_counter()
        try:
            return run_search(*a, **kw)
        finally:
            engine_ms.append((time.perf_counter() - t0) * 1000)

    search_.run_search = timed_run_search
    for u in urls[:5]:  # warm-up: pools, caches, templates
        client.get(u)
    engine_ms.clear()
    timings = []
    sizes = []
    for u in urls:
        t0 = time.perf_counter()
        response = client.get(u)
        timings.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (u, response.status_code)
        sizes.append(len(response.data))
    report(name, n, urls, timings, engine_ms, sizes)
    engine.dispose()


def after_change(app) -> None:
    """As after a catalogue change: the shared search cache emptied, then what the
    search worker prepares (search.national.warm)."""
    from web import search_ as web_search

    with app.extensions["offre"]["engine"].begin() as c:
        c.execute(text("DELETE FROM search_cache_entry"))
    t0 = time.perf_counter()
    count = web_search.service(app).warm(app.extensions["offre"]["sessionmaker"])
    print(f"after a change: national parts of {count} searches prepared in {time.perf_counter() - t0:.1f} s")


def report(name: str, n: int, urls: list[str], timings: list[float], engine_ms: list[float], sizes: list[int]) -> None:
    own = sorted(t - e for t, e in zip(timings, engine_ms, strict=True))
    slowest = sorted(zip(timings, engine_ms, urls, strict=True), reverse=True)[:5]
    timings.sort()
    engine_ms.sort()
    print(f"results page /recherche — {name}: {n} published services, {len(urls)} queries (2 cores)")
    print(f"  whole page:           p50 {statistics.median(timings):.0f} ms, p95 {p95(timings):.0f} ms, "
          f"max {timings[-1]:.0f} ms (target: p95 <= 60 ms)")
    print(f"  of which the engine:  p50 {statistics.median(engine_ms):.0f} ms, p95 {p95(engine_ms):.0f} ms")
    print(f"  page without engine:  p50 {statistics.median(own):.0f} ms, p95 {p95(own):.0f} ms")
    for t, e, u in slowest:
        print(f"  slowest: {t:.0f} ms (engine {e:.0f} ms) {u}")
    print(f"  page size: median {statistics.median(sizes) / 1024:.0f} KiB")
    import hostspeed  # bench/, beside this script

    print(f"  {hostspeed.describe()}")


if __name__ == "__main__":
    main()
