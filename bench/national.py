"""The PostgreSQL engine alone, in process, with and without the national part kept
(search/national.py): each query of a mix (a commune of more than 2,000 inhabitants
and a SPIE thematic or a category, 20 results) run both ways in turn, the pages
compared (they must be equal), the times of each printed.

    .venv/bin/python bench/national.py [--services 100000] [--queries 300]

Reads the database that bench/search.py builds (`offre_bench_<services>`). The
national parts are computed first (as the search worker does after a change), so
the second column is what a search costs once they are kept. It is not a test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import siblings  # noqa: E402  (bench/, beside this script)
from sqlalchemy import create_engine, make_url, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from catalogue import vocabulary  # noqa: E402
from search.cache import SearchCache  # noqa: E402
from search.contract import SearchQuery  # noqa: E402
from search.postgres import PostgresBackend  # noqa: E402
from tests import dbsetup  # noqa: E402

bench_search = siblings.load("search")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    url = make_url(dbsetup.server_url()).set(database=f"offre_bench_{args.services}")
    engine = create_engine(url)
    rng = random.Random(5)
    codes = list(dict.fromkeys([*(g.code for g in vocabulary.spie_groups()), *vocabulary.categories()]))
    cache = SearchCache(10_000)
    whole: list[float] = []
    kept: list[float] = []
    with Session(engine) as s:
        communes = s.execute(text(
            "SELECT code FROM geo_commune WHERE type = 'COM' AND population > 2000 ORDER BY code")).scalars().all()
        queries = [SearchQuery(code_commune=rng.choice(communes), thematiques=(rng.choice(codes),))
                   for _ in range(args.queries)]
        for code in codes:  # the national parts, as after a change
            PostgresBackend(s, cache=cache).search(SearchQuery(code_commune=communes[0], thematiques=(code,)))
        for i, query in enumerate(queries):
            runs = [("whole", None), ("kept", cache)]
            pages = {}
            for name, used in runs if i % 2 == 0 else reversed(runs):
                started = time.perf_counter()
                pages[name] = PostgresBackend(s, cache=used).search(query)
                (whole if name == "whole" else kept).append((time.perf_counter() - started) * 1000)
            if pages["whole"] != pages["kept"]:
                raise SystemExit(f"pages differ: {query}")
    engine.dispose()
    import hostspeed  # bench/, beside this script

    print(f"{len(queries)} commune + thematic searches, 20 results, same pages both ways; {hostspeed.describe()}")
    for name, values in (("whole query", whole), ("national part kept", kept)):
        print(f"  {name:20s} p50 {statistics.median(values):5.1f} ms  p95 {bench_search.pct(values, 95):5.1f} ms")


if __name__ == "__main__":
    main()
