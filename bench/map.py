"""Benchmark of the public map: bytes transferred and time to serve /carte with
20,000 published offers (target: under 1.5 MB transferred).

    .venv/bin/python bench/map.py [--services 20000] [--database offre_bench_map]

The benchmark database is created if missing (migrations, référentiel, demo
catalogue), then filled with copies of the demo services (source "bench", places
jittered within ~5 km) up to the number asked. It prints its figures; it is not a test.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from catalogue.db import make_engine, make_sessionmaker, set_actor  # noqa: E402

# What a browser downloads for /carte besides the page and the points.
MAP_ASSETS = [
    "vendor/pico/pico.min.css",
    "css/site.css",
    "vendor/leaflet/leaflet.css",
    "vendor/markercluster/MarkerCluster.css",
    "vendor/markercluster/MarkerCluster.Default.css",
    "vendor/leaflet/leaflet.js",
    "vendor/markercluster/leaflet.markercluster.js",
    "js/offre-map.js",
]


def _cluster_env() -> dict:
    # The tests' cluster (durability off), as the other benchmarks: not `make run`'s.
    return dict(os.environ, OFFRE_PG_DATA=str(ROOT / "var" / "pg-test"), OFFRE_PG_DURABLE="0")


def database_url(name: str) -> str:
    out = subprocess.run([str(ROOT / "bin/pgcluster"), "url", name], check=True, capture_output=True,
                         text=True, env=_cluster_env())
    return out.stdout.strip()


def ensure_catalogue(name: str, n_services: int) -> str:
    """URL of database `name`, created and filled up to `n_services` published,
    located services if needed."""
    subprocess.run([str(ROOT / "bin/pgcluster"), "start"], check=True, capture_output=True,
                   env=_cluster_env())
    subprocess.run([str(ROOT / "bin/pgcluster"), "createdb", name], check=True, capture_output=True,
                   env=_cluster_env())
    url = database_url(name)
    env = dict(os.environ, DATABASE_URL=url)
    offre = str(ROOT / ".venv/bin/offre")
    subprocess.run([offre, "db", "upgrade"], check=True, env=env, capture_output=True)
    subprocess.run([offre, "geo", "load", "--if-empty"], check=True, env=env, capture_output=True)
    subprocess.run([offre, "demo", "load", "--if-empty"], check=True, env=env, capture_output=True)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session, session.begin():
        have = session.scalar(
            text("SELECT count(*) FROM service WHERE status = 'publie' AND location IS NOT NULL")
        )
        missing = n_services - have
        if missing > 0:
            t0 = time.perf_counter()
            set_actor(session, "bench")
            start = session.scalar(text("SELECT count(*) FROM service WHERE source = 'bench'"))
            session.execute(
                text(
                    """
                    INSERT INTO service (id, source, source_id, status, nom, description, structure_id,
                        type, thematiques, frais, publics, modes_accueil, zone_eligibilite,
                        modes_mobilisation, mobilisable_par, commune, code_postal, code_insee, adresse,
                        location, location_precision, telephone, courriel, horaires_accueil, date_maj,
                        frequence_maj_jours)
                    SELECT gen_random_uuid(), 'bench', 'bench-' || (:start + n), 'publie',
                        s.nom, s.description, s.structure_id, s.type, s.thematiques, s.frais, s.publics,
                        s.modes_accueil, s.zone_eligibilite, s.modes_mobilisation, s.mobilisable_par,
                        s.commune, s.code_postal, s.code_insee, s.adresse,
                        ST_SetSRID(ST_MakePoint(ST_X(s.location::geometry) + (random() - 0.5) * 0.12,
                                                ST_Y(s.location::geometry) + (random() - 0.5) * 0.08), 4326)::geography,
                        s.location_precision, s.telephone, s.courriel, s.horaires_accueil, s.date_maj,
                        s.frequence_maj_jours
                    FROM generate_series(1, :missing) AS n
                    JOIN (
                        SELECT *, row_number() OVER (ORDER BY id) - 1 AS k,
                               count(*) OVER () AS total
                        FROM service WHERE source = 'demo' AND location IS NOT NULL
                    ) s ON s.k = n % s.total
                    """
                ),
                {"missing": missing, "start": start},
            )
            print(f"  {missing} services ajoutés en {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if missing > 0:
        # Fresh statistics, as autovacuum would give them before long.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return url


def gz_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20_000)
    parser.add_argument("--database", default="offre_bench_map")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    url = ensure_catalogue(args.database, args.services)

    from web.app import create_app
    from web.settings import Settings

    app = create_app(Settings(database_url=url, tiles_url="", offre_env="development"))
    client = app.test_client()
    gzip_header = {"Accept-Encoding": "gzip"}

    timings = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        points = client.get("/carte/points.json", headers=gzip_header)
        timings.append(time.perf_counter() - t0)
    assert points.status_code == 200 and points.headers["Content-Encoding"] == "gzip"
    points_gz = len(points.data)
    points_raw = len(gzip.decompress(points.data))
    n_points = points_raw and len(__import__("json").loads(gzip.decompress(points.data))["points"])

    t0 = time.perf_counter()
    page = client.get("/carte")
    page_s = time.perf_counter() - t0
    html = page.data
    assets_raw = 0
    assets_gz = 0
    for asset in MAP_ASSETS:
        data = (ROOT / "web/static" / asset).read_bytes()
        assets_raw += len(data)
        assets_gz += gz_size(data)

    total_gz = gz_size(html) + points_gz + assets_gz
    total_raw = len(html) + points_raw + assets_raw
    print(f"public map /carte — {n_points} points (machine shared by 8 engineers, 2 cores)")
    print(f"  points.json: {points_raw / 1024:.0f} KiB raw, {points_gz / 1024:.0f} KiB gzip; "
          f"served in {min(timings) * 1000:.0f} ms (best of {args.runs}), {max(timings) * 1000:.0f} ms worst")
    print(f"  /carte HTML: {len(html) / 1024:.0f} KiB raw, {gz_size(html) / 1024:.0f} KiB gzip; rendered in {page_s * 1000:.0f} ms")
    print(f"  static assets (CSS, Leaflet, markercluster, our JS): {assets_raw / 1024:.0f} KiB raw, {assets_gz / 1024:.0f} KiB gzip")
    print(f"  total transferred (first visit, gzip): {total_gz / 1024 / 1024:.2f} MiB; without compression: {total_raw / 1024 / 1024:.2f} MiB "
          f"(target: < 1.5 MB)")
    app.extensions["offre"]["engine"].dispose()


if __name__ == "__main__":
    main()
