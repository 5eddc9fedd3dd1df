"""Where the time of one search through the JSON API goes, in process.

    .venv/bin/python bench/api_request.py [--services 100000] [--queries 120] [--profile]
                                          [--after-change] [--kind commune+thematique]

Against `offre_bench_<n>` (built by bench/search.py), the app of create_app served
by Flask's test client (no HTTP, no gunicorn): the bench's query mix sent to
GET /api/v1/services/search, and per request its wall time, the statements sent
to PostgreSQL (round trips, pool checkouts) and the time spent waiting on them.
`--profile`: the cProfile of the requests, the 30 costliest functions.
`--after-change`: the shared cache emptied and the national parts prepared first (the
searches computed, as after a change); `--kind`: only that kind of the mix. The six
slowest requests are printed with their time in SQL.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import hostspeed  # noqa: E402
import siblings  # noqa: E402  (bench/, beside this script)
from sqlalchemy import event  # noqa: E402

from tests import dbsetup  # noqa: E402


def after_change(engine) -> None:
    """As after a change: the shared search cache emptied, then the national parts
    prepared as the search worker does (the searches are computed, not read)."""
    from sqlalchemy import text

    from catalogue.db import make_sessionmaker
    from search.service import SearchService

    with engine.begin() as c:
        c.execute(text("DELETE FROM search_cache_entry"))
    SearchService(cache_size=100, shared_cache_size=10_000).warm(make_sessionmaker(engine))


def report(mix, walls, sql_each, stats, after: int, kinds: Counter, spent: Counter) -> None:
    n = len(mix)
    print(f"{n} requêtes (client de test, en processus) ; {hostspeed.describe()}")
    ordered = sorted(walls)
    print(f"  mur : médiane {statistics.median(walls) * 1000:.1f} ms, moyenne {statistics.mean(walls) * 1000:.1f} ms, "
          f"p95 {ordered[min(n - 1, round(0.95 * (n - 1)))] * 1000:.1f} ms")
    print("  les plus lentes (mur / SQL, ms) : " + " ; ".join(
        f"{urlencode(mix[i][1])} {walls[i] * 1000:.1f} / {sql_each[i] * 1000:.1f}"
        for i in sorted(range(n), key=walls.__getitem__)[-6:]))
    print(f"  SQL : {stats['statements'] / n:.1f} instructions (dont {after / n:.1f} après la réponse), "
          f"{stats['checkouts'] / n:.1f} prises au pool, {stats['db_s'] / n * 1000:.1f} ms d'attente par requête")
    for statement, count in kinds.most_common():
        print(f"    {count / n:5.2f} × {spent[statement] / count * 1000:5.2f} ms  {statement}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=120)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--after-change", action="store_true",
                        help="empty the shared search cache, then prepare the national parts as the "
                             "search worker does after a change: the searches are computed, not read")
    parser.add_argument("--kind", help="--queries searches of this kind only (e.g. commune+thematique)")
    args = parser.parse_args()
    url = dbsetup._with_db(dbsetup.server_url(), f"offre_bench_{args.services}")
    os.environ.update(OFFRE_ENV="development", DATABASE_URL=url, SEARCH_BACKEND="postgres",
                      API_RATE_LIMIT_PER_MINUTE="0")
    from web.app import create_app

    app = create_app()
    engine = app.extensions["offre"]["engine"]
    stats = {"statements": 0, "checkouts": 0, "db_s": 0.0}
    kinds: Counter = Counter()
    spent: Counter = Counter()

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["t"] = time.perf_counter()
        conn.info["s"] = " ".join(statement.split())[:60]
        stats["statements"] += 1
        kinds[conn.info["s"]] += 1

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        seconds = time.perf_counter() - conn.info.pop("t")
        stats["db_s"] += seconds
        spent[conn.info.pop("s")] += seconds

    @event.listens_for(engine.pool, "checkout")
    def _checkout(*a):
        stats["checkouts"] += 1

    if args.after_change:
        after_change(engine)
    mix = siblings.load("search").query_mix(url, args.queries, kind=args.kind)
    client = app.test_client()
    client.environ_base["SERVER_SOFTWARE"] = "bench"  # as under gunicorn (web/cto/searchlog.defer)
    for _, p in mix[:10]:  # warm-up
        client.get("/api/v1/services/search?" + urlencode(p)).close()
    # The same mix shifted: searches not kept by the cache of the warm-up.
    mix = mix[10:] + siblings.load("search").query_mix(url, 10, seed=8, kind=args.kind)
    for k in stats:
        stats[k] = 0
    kinds.clear()
    spent.clear()
    profile = cProfile.Profile() if args.profile else None
    walls = []
    sql_each = []
    after = {"statements": 0}
    for _, p in mix:
        db_before = stats["db_s"]
        path = "/api/v1/services/search?" + urlencode(p)
        if profile:
            profile.enable()
        t = time.perf_counter()
        response = client.get(path)
        walls.append(time.perf_counter() - t)
        if profile:
            profile.disable()
        assert response.status_code == 200, response.get_data()[:300]
        on_path = stats["statements"]
        response.close()  # as a server does once the response is sent
        after["statements"] += stats["statements"] - on_path
        sql_each.append(stats["db_s"] - db_before)
    report(mix, walls, sql_each, stats, after["statements"], kinds, spent)
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)

if __name__ == "__main__":
    main()
