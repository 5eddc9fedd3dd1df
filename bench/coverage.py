"""Benchmark of the coverage gaps: time to render /pilotage/couverture for a whole
département (query, contours, map description, template), per SPIE thematic
(target: under 2 s).

    .venv/bin/python bench/coverage.py [--database offre_bench_100000] [--departements 02,01] [--runs 3]

Uses the search benchmark's database `offre_bench_100000` when it exists (only
read), else builds `offre_bench_coverage` (migrations, référentiel, demo catalogue
of the Aisne: about 1,500 offers). The page is requested as an administrator (the
access check is bypassed in this process only). It prints its figures; it is not
a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import siblings  # noqa: E402  (bench/, beside this script)
from sqlalchemy import text  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None)
    parser.add_argument("--departements", default="02")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    bench = siblings.load("map")
    from sqlalchemy import create_engine

    name = args.database
    if name is None:
        server = create_engine(bench.database_url("postgres"))
        with server.connect() as c:
            exists = c.scalar(text("SELECT 1 FROM pg_database WHERE datname = 'offre_bench_100000'"))
        server.dispose()
        name = "offre_bench_100000" if exists else "offre_bench_coverage"
    url = bench.database_url(name) if name == "offre_bench_100000" else bench.ensure_catalogue(name, 0)

    from catalogue import coverage, vocabulary
    from catalogue.accounts import User
    from web import access
    from web.app import create_app
    from web.settings import Settings

    admin = User(id=0, email="bench@example.org", is_admin=True, is_active=True, email_verified_at=datetime.now(UTC))
    access.current_user = lambda: admin  # this process only: the page's access check
    app = create_app(Settings(database_url=url, tiles_url="", offre_env="development"))
    client = app.test_client()
    engine = app.extensions["offre"]["engine"]
    with engine.connect() as c:
        n = c.scalar(text("SELECT count(*) FROM service WHERE status = 'publie'"))
    print(f"coverage gaps — database {name}: {n} published services; {os.cpu_count()} CPU, "
          f"{platform.platform()}, load {os.getloadavg()[0]:.1f}, {datetime.now():%Y-%m-%d %H:%M}")

    for dep in args.departements.split(","):
        with app.app_context():
            from web.db import get_session

            session = get_session()
            communes = coverage.communes_of_departement(session, dep)
            in_dep = session.scalar(
                text("SELECT count(*) FROM service WHERE status = 'publie' AND left(code_insee, 2) = :d"), {"d": dep}
            )
        pages, queries, sizes = [], [], []
        for group in vocabulary.spie_groups():
            for _ in range(args.runs):
                with app.app_context():
                    t0 = time.perf_counter()
                    coverage.coverage(get_session(), communes, group.code)
                    queries.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                r = client.get(f"/pilotage/couverture?departement={dep}&thematique={group.code}&rayon=30")
                pages.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.status_code
                sizes.append(len(r.data))
        pages.sort()
        print(f"  département {dep}: {len(communes)} communes, {in_dep} services placed in it; "
              f"10 thematics x {args.runs} runs")
        print(f"    query alone: median {statistics.median(queries) * 1000:.0f} ms, max {max(queries) * 1000:.0f} ms")
        print(f"    whole page:  median {statistics.median(pages) * 1000:.0f} ms, "
              f"p90 {pages[int(0.9 * (len(pages) - 1))] * 1000:.0f} ms, max {max(pages) * 1000:.0f} ms "
              f"(target < 2000 ms); HTML {statistics.median(sizes) / 1024:.0f} KiB")
    engine.dispose()


if __name__ == "__main__":
    main()
