"""Benchmark of the public map on the national-shaped catalogue: the bytes of every
map response (raw and gzip) and the time Chromium takes from navigation to the
clusters drawn, for a deploying département holding ≥ 20,000 offers.

    .venv/bin/python bench/map.py [--services 100000] [--departement 59] [--dense 20000] [--reuse]

Builds a database `offre_bench_map_<n>` from the test template (migrations, the
whole référentiel), imports the national-shaped benchmark catalogue of `n` services
(bench/catalogue.py, by the importer), then copies services of the département
(source "bench-map", places jittered within ~2 km, same communes) until it holds
`--dense` published, located offers. Serves it with gunicorn (2 workers, no tiles:
TILES_URL empty, the base layer draws) and measures:
- bytes of /carte (default, whole France, a far page), of /carte/groupes.json at
  several zooms (national and départemental views) and of /carte/fond.json;
- with playwright + /usr/bin/chromium: navigation → clusters drawn (the
  `offre-map:drawn` performance mark of web/static/js/offre-map.js), best and worst
  of `--runs` cold loads, at 1280 × 800 and at 390 × 844 (screenshots: var/bench-map-*.png).
Targets: no response over 300 KB gzip; interactive in ≤ 1 s. It prints; it is not a test.
"""

from __future__ import annotations

import argparse
import gzip
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import hostspeed  # noqa: E402  (bench/, beside this script)
import siblings  # noqa: E402  (bench/, beside this script)

from tests import dbsetup  # noqa: E402

LIMIT_GZ = 300 * 1024


def build(server: str, n: int, reuse: bool) -> str:
    """`offre_bench_map_<n>`: the test template and the national-shaped catalogue imported."""
    return siblings.load("search").build(server, n, reuse, name=f"offre_bench_map_{n}")


_PUBLIC = ("FROM service s JOIN structure st ON st.id = s.structure_id "
           "JOIN geo_commune c ON c.code = s.code_insee AND c.departement_code = :dep "
           "WHERE s.status = 'publie' AND st.status = 'publie' AND s.location IS NOT NULL "
           "AND NOT s.duplicate_hidden")


def densify(url: str, departement: str, dense: int) -> int:
    """Copies published offers of `departement` (jittered places, same communes) until
    it holds `dense`; returns how many it holds."""
    from catalogue.db import make_engine, make_sessionmaker, set_actor

    engine = make_engine(url)
    with make_sessionmaker(engine)() as session, session.begin():
        have = session.scalar(text(f"SELECT count(*) {_PUBLIC}"), {"dep": departement})
        missing = dense - have
        if missing > 0:
            set_actor(session, "bench")
            session.execute(text(f"""
                INSERT INTO service (id, source, source_id, status, nom, description, structure_id, type,
                    thematiques, frais, publics, modes_accueil, zone_eligibilite, modes_mobilisation,
                    mobilisable_par, commune, code_postal, code_insee, adresse, location, location_precision,
                    telephone, courriel, horaires_accueil, date_maj, frequence_maj_jours)
                SELECT gen_random_uuid(), 'bench-map', 'bench-map-' || n, 'publie', x.nom, x.description,
                    x.structure_id, x.type, x.thematiques, x.frais, x.publics, x.modes_accueil,
                    x.zone_eligibilite, x.modes_mobilisation, x.mobilisable_par, x.commune, x.code_postal,
                    x.code_insee, x.adresse,
                    ST_SetSRID(ST_MakePoint(ST_X(x.location::geometry) + (random() - 0.5) * 0.05,
                                            ST_Y(x.location::geometry) + (random() - 0.5) * 0.035),
                               4326)::geography,
                    x.location_precision, x.telephone, x.courriel, x.horaires_accueil, x.date_maj,
                    x.frequence_maj_jours
                FROM generate_series(1, :missing) AS n
                JOIN (SELECT s.*, row_number() OVER (ORDER BY s.id) - 1 AS k, count(*) OVER () AS total
                      {_PUBLIC}) x ON x.k = n % x.total
            """), {"missing": missing, "dep": departement})
            have = dense
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return have


def serve(url: str, port: int, departement: str) -> subprocess.Popen:
    engine = create_engine(url)
    with engine.connect() as c:
        nom = c.scalar(text("SELECT nom FROM geo_departement WHERE code = :d"), {"d": departement})
    engine.dispose()
    env = {"OFFRE_ENV": "development", **os.environ, "DATABASE_URL": url, "SEARCH_BACKEND": "postgres",
           "DEPARTEMENT_CODE": departement, "DEPARTEMENT_NOM": nom, "TILES_URL": ""}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "web.app:create_app()"], cwd=ROOT, env=env)
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def fetch(base: str, path: str) -> tuple[int, int, float]:
    """(raw bytes, gzip bytes as sent, ms) of one response."""
    request = urllib.request.Request(base + path, headers={"Accept-Encoding": "gzip"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as r:
        sent = r.read()
        zipped = r.headers.get("Content-Encoding") == "gzip"
    ms = (time.perf_counter() - started) * 1000
    raw = gzip.decompress(sent) if zipped else sent
    return len(raw), len(sent) if zipped else len(gzip.compress(raw, 6)), ms


def views(url: str, departement: str) -> list[str]:
    """The responses measured: pages, clusters at several zooms, the base layer."""
    from catalogue import map_queries as mq
    from catalogue.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        w, s, e, n = mq.bounds(session, departement)
        last = mq.map_communes(session, mq.MapArgs(None, None)).get("pages")
        # Zoomed views around the commune holding the most offers of the département.
        cx, cy = session.execute(text(
            "SELECT ST_X(centre::geometry), ST_Y(centre::geometry) FROM geo_commune WHERE code = "
            "(SELECT code_insee FROM service WHERE code_insee LIKE :p GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)"),
            {"p": departement + "%"}).one()
    engine.dispose()
    paths = ["/carte", "/carte?departement=france", f"/carte?departement=france&page={last}",
             "/carte?thematique=mobilite", "/carte/fond.json",
             "/carte/groupes.json?departement=france&zoom=5&bbox=-12,38,18,54",
             "/carte/groupes.json?departement=france&zoom=6&bbox=-5.2,41.3,9.6,51.1",
             f"/carte/groupes.json?zoom=8&bbox={w},{s},{e},{n}",
             f"/carte/groupes.json?zoom=9&bbox={w},{s},{e},{n}",
             "/carte/groupes.json?departement=france&zoom=12&bbox=-5.2,41.3,9.6,51.1",  # a box larger than a screen
             "/carte/groupes.json?departement=france&zoom=18&bbox=-180,-85,180,85"]
    for zoom, half in ((11, 0.25), (13, 0.06), (15, 0.015), (17, 0.004)):
        paths.append(f"/carte/groupes.json?zoom={zoom}&bbox={cx - half:.4f},{cy - half * 0.6:.4f},"
                     f"{cx + half:.4f},{cy + half * 0.6:.4f}")
    return paths


def chromium_ms(base: str, runs: int, width: int, height: int) -> list[float]:
    """Navigation → clusters drawn, in ms, for `runs` cold loads (a new context each)."""
    from playwright.sync_api import sync_playwright

    found = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        for _ in range(runs):
            context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": height})
            page = context.new_page()
            page.goto(base + "/carte", wait_until="commit")
            page.wait_for_selector("offre-map[data-count]", timeout=60_000)  # set as the mark is left
            found.append(page.evaluate("performance.getEntriesByName('offre-map:drawn')[0].startTime"))
            page.screenshot(path=str(ROOT / f"var/bench-map-{width}.png"))
            context.close()
        browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--departement", default="59")
    parser.add_argument("--dense", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=18766)
    parser.add_argument("--reuse", action="store_true", help="reuse the bench database if it exists")
    args = parser.parse_args()
    url = build(dbsetup.server_url(), args.services, args.reuse)
    held = densify(url, args.departement, args.dense)
    print(f"public map — {args.services} national services, département {args.departement}: {held} offers")
    print(hostspeed.describe())
    server = serve(url, args.port, args.departement)
    base = f"http://127.0.0.1:{args.port}"
    try:
        over = []
        for path in views(url, args.departement):
            fetch(base, path)  # warm (connections, the base layer's cache)
            raw, gz, ms = fetch(base, path)
            print(f"  {path:78s} {raw / 1024:8.1f} KiB raw {gz / 1024:7.1f} KiB gzip {ms:7.0f} ms")
            if gz > LIMIT_GZ:
                over.append(path)
        print(f"  responses over 300 KB gzip: {over or 'none'}")
        for width, height in ((1280, 800), (390, 844)):
            ms = chromium_ms(base, args.runs, width, height)
            print(f"  Chromium {width}×{height}, navigation → clusters drawn: best {min(ms):.0f} ms, "
                  f"worst {max(ms):.0f} ms ({len(ms)} cold loads; target ≤ 1000 ms)")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
