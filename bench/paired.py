"""Paired benchmark of the search API: two code trees served side by side on the same
database, each query of bench/search.py's mix sent to both in turn (the order
alternating), so that the host's load, which moves from one minute to the next on a
shared machine, weighs on both alike.

    .venv/bin/python bench/paired.py --base /path/to/other/tree [--services 100000]
        [--queries 500] [--warm] [--multiply]

`--base` is another checkout of this repository (e.g. `git worktree add /tmp/base
<commit>`), served with this tree's virtualenv; the database is the one
bench/search.py builds (`--reuse` is implied: build it with bench/search.py first).
Both start from an empty shared search cache (each version keys its own rows);
`--warm` then prepares the national parts as the search worker does after a change
(this tree's code: the base, if older, ignores them). It prints p50 / p95 per kind
for each tree; it is not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import siblings  # noqa: E402  (bench/, beside this script)
from sqlalchemy import create_engine, text  # noqa: E402

from tests import dbsetup  # noqa: E402

bench_search = siblings.load("search")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the other code tree (a checkout of this repository)")
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--warm", action="store_true")
    parser.add_argument("--multiply", action="store_true")
    parser.add_argument("--kind", help="only this kind of the mix, --queries of them (e.g. commune+thematique)")
    args = parser.parse_args()
    make = bench_search.multiply if args.multiply else bench_search.build
    url = make(dbsetup.server_url(), args.services, True)
    mix = bench_search.query_mix(url, args.queries, kind=args.kind)
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("DELETE FROM search_cache_entry"))
    if args.warm:
        from catalogue.db import make_sessionmaker
        from search.service import SearchService

        count = SearchService(cache_size=100, shared_cache_size=10_000).warm(make_sessionmaker(engine))
        print(f"national parts of {count} searches prepared (--warm)")
    engine.dispose()
    trees = {"base": Path(args.base).resolve(), "this": ROOT}
    servers, bases = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        hook = Path(tmp) / "bench_hook.py"
        hook.write_text(bench_search.STATS_HOOK)
        try:
            for name, tree in trees.items():
                port = bench_search.free_port()
                servers[name] = bench_search.start_server(url, port, 2, 1, hook, cwd=tree)
                bases[name] = f"http://127.0.0.1:{port}/api/v1/services/search?"
                for _ in range(4):
                    urllib.request.urlopen(bases[name] + urlencode({"code_commune": "02408", "size": 1}),
                                           timeout=30).read()
            timings: dict[str, list[tuple[str, float]]] = {name: [] for name in trees}
            for i, (kind, p) in enumerate(mix):
                order = list(trees) if i % 2 == 0 else list(reversed(trees))
                for name in order:
                    t = time.perf_counter()
                    with urllib.request.urlopen(bases[name] + urlencode(p), timeout=30) as r:
                        r.read()
                    timings[name].append((kind, (time.perf_counter() - t) * 1000))
        finally:
            for server in servers.values():
                bench_search.stop_server(server)
    import hostspeed  # bench/, beside this script

    print(f"{len(mix)} queries sent to both, in turn; {hostspeed.describe()}")
    for kind in dict.fromkeys(k for k, _ in mix):
        line = f"  {kind:20s}"
        for name in trees:
            ms = [m for k, m in timings[name] if k == kind]
            line += f"  {name}: p50 {statistics.median(ms):6.1f} p95 {bench_search.pct(ms, 95):6.1f} ms"
        print(line)
    for name in trees:
        ms = [m for _, m in timings[name]]
        print(f"  {'all':20s}  {name}: p50 {statistics.median(ms):6.1f} p95 {bench_search.pct(ms, 95):6.1f} ms")


if __name__ == "__main__":
    main()
