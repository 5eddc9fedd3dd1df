"""Search benchmark at national scale (PostgreSQL engine).

    .venv/bin/python bench/search.py --services 100000 [--queries 500] [--reuse]

Builds a database `offre_bench_<n>` from the test template (migrations + the whole
référentiel), generates `n` services spread over communes by population (with
realistic zones, thematiques, publics, modes), then runs a fixed mix of queries
through GET /api/v1/services/search served by gunicorn with 2 workers, and prints
p50/p95/p99 latency, queries per second, and the EXPLAIN ANALYZE plans of one
query of each kind. The bulk load disables the audit/outbox triggers of that bench
database only (ALTER TABLE … DISABLE TRIGGER USER), then computes the search
documents in one statement.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import hostspeed  # noqa: E402  (bench/, beside this script)

from catalogue import vocabulary  # noqa: E402
from tests import dbsetup  # noqa: E402

GENERATE = r"""
CREATE TEMP TABLE bench_commune AS
SELECT code, epci_code, departement_code, centre::geometry AS centre,
       sum(coalesce(population, 0)) OVER (ORDER BY code) AS cum
FROM geo_commune WHERE type = 'COM' AND centre IS NOT NULL;
CREATE INDEX ON bench_commune (cum);

-- Each structure in a commune drawn by population: a uniform draw over the
-- cumulative population, found by binary search (width_bucket) among the communes'
-- cumulative totals. (A random() inside a lateral subquery was evaluated far too
-- rarely: every structure landed in the Ain or the Aisne.)
CREATE TEMP TABLE bench_structure AS
WITH b AS (
  SELECT array_agg(CAST(cum AS double precision) ORDER BY code) AS upper_bounds,
         array_agg(code ORDER BY code) AS codes
  FROM bench_commune
), d AS (
  SELECT g AS n, b.codes[width_bucket(random() * b.upper_bounds[cardinality(b.upper_bounds)],
                                      b.upper_bounds) + 1] AS code
  FROM generate_series(1, :n_structures) g, b
)
SELECT gen_random_uuid() AS id, d.n, c.code, c.centre
FROM d JOIN bench_commune c ON c.code = d.code;
CREATE INDEX ON bench_structure (n);

INSERT INTO structure (id, source, source_id, nom, status, code_insee, location, reseaux_porteurs)
SELECT id, 'bench', 's' || n, 'Structure ' || (ARRAY['Association', 'CCAS', 'Mission locale',
         'Centre social', 'Maison France services', 'Régie de quartier'])[1 + n % 6] || ' ' || n,
       'publie', code, centre::geography, '{}'
FROM bench_structure;

INSERT INTO service (id, source, source_id, structure_id, nom, description, status, type,
  thematiques, frais, publics, modes_accueil, zone_eligibilite, mobilisable_par,
  modes_mobilisation, code_insee, location, date_maj, frequence_maj_jours)
SELECT gen_random_uuid(), 'bench', 'v' || g, st.id,
       lab.label || ' – ' || (ARRAY['accompagnement', 'atelier collectif', 'permanence',
          'aide', 'formation', 'information'])[1 + g % 6],
       'Service ' || lab.label || ' pour les habitants. ' ||
          (ARRAY['Sur rendez-vous.', 'Accueil sans rendez-vous.', 'Orientation par un référent.'])[1 + g % 3],
       'publie',
       (ARRAY['accompagnement','aide-financiere','aide-materielle','atelier','formation','information'])[1 + (g * 7) % 6],
       (CASE WHEN g % 4 = 0 THEN ARRAY[t1, t2] ELSE ARRAY[t1] END),
       (CASE WHEN g % 5 = 0 THEN 'payant' ELSE 'gratuit' END),
       (CASE WHEN g % 5 < 2 THEN ARRAY['tous-publics']
             ELSE ARRAY[(CAST(:publics AS text[]))[1 + (g * 3) % (cardinality(CAST(:publics AS text[])))]] END),
       (CASE WHEN g % 10 = 0 THEN ARRAY['a-distance']
             WHEN g % 10 = 1 THEN ARRAY['en-presentiel', 'a-distance'] ELSE ARRAY['en-presentiel'] END),
       (CASE WHEN g % 10 = 0 AND g % 20 = 0 THEN ARRAY['france']
             WHEN g % 10 = 0 THEN '{}'::text[]
             WHEN g % 20 < 8 THEN ARRAY[c.departement_code]
             WHEN g % 20 < 13 AND c.epci_code IS NOT NULL THEN ARRAY[c.epci_code]
             WHEN g % 20 < 15 THEN ARRAY[c.code]
             ELSE '{}'::text[] END),
       ARRAY['professionnels'], ARRAY['telephoner'], st.code,
       (CASE WHEN g % 10 = 0 THEN NULL ELSE
          ST_Translate(st.centre, (random() - 0.5) * 0.02, (random() - 0.5) * 0.02)::geography END),
       DATE '2024-01-01' + (g * 13) % 900, 180
FROM generate_series(1, :n_services) g
JOIN bench_structure st ON st.n = 1 + (CAST(g AS bigint) * 7919) % :n_structures
JOIN bench_commune c ON c.code = st.code
CROSS JOIN LATERAL (SELECT (CAST(:thematiques AS text[]))[1 + (g * 31) % cardinality(CAST(:thematiques AS text[]))] AS t1,
                           (CAST(:thematiques AS text[]))[1 + (g * 17) % cardinality(CAST(:thematiques AS text[]))] AS t2) t
JOIN LATERAL (SELECT label FROM search_label WHERE kind = 'thematique' AND code = t.t1) lab ON true;
"""


def build(server: str, n: int, reuse: bool) -> str:
    name = f"offre_bench_{n}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    url = dbsetup._with_db(server, name)
    if exists and reuse:
        return url
    template = dbsetup.build_template(server)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    engine = create_engine(url)
    started = time.monotonic()
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE service DISABLE TRIGGER USER"))
        conn.execute(text("ALTER TABLE structure DISABLE TRIGGER USER"))
        params = {
            "n_structures": max(1, n // 5),
            "n_services": n,
            "thematiques": list(vocabulary.thematiques()),
            "publics": [p for p in vocabulary.publics() if p != "tous-publics"],
        }
        for statement in GENERATE.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), params)
        # The source's key first: else every row, written without it, is written twice.
        conn.execute(text("INSERT INTO search_key (key) VALUES ('sources:bench') ON CONFLICT DO NOTHING"))
        conn.execute(text("SELECT search_refresh(ARRAY(SELECT id FROM service))"))
        conn.execute(text("ALTER TABLE service ENABLE TRIGGER USER"))
        conn.execute(text("ALTER TABLE structure ENABLE TRIGGER USER"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"generated {n} services in {time.monotonic() - started:.0f} s -> {name}")
    engine.dispose()
    return url


def query_mix(url: str, count: int, seed: int = 7) -> list[tuple[str, dict]]:
    """A fixed mix: (kind, parameters)."""
    rng = random.Random(seed)
    engine = create_engine(url)
    with engine.connect() as c:
        communes = c.execute(text(
            "SELECT code FROM geo_commune WHERE type = 'COM' AND population > 2000 ORDER BY code"
        )).scalars().all()
    engine.dispose()
    groups = [g.code for g in vocabulary.spie_groups()]
    cats = list(vocabulary.categories())
    words = ["logement", "emploi", "permis", "numérique", "santé", "budget", "garde d'enfants", "formation"]
    typos = ["logemnt", "emplio", "numerique", "formaton", "mobilté", "sante"]
    publics = [p for p in vocabulary.publics() if p != "tous-publics"]
    kinds = ["commune+thematique", "+texte", "+publics+frais", "rayon 10 km", "a distance", "texte avec faute"]
    mix = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        p = {"code_commune": rng.choice(communes), "thematiques": rng.choice(groups + cats), "size": 20}
        if kind == "+texte":
            p["q"] = rng.choice(words)
        elif kind == "+publics+frais":
            p.update(publics=rng.choice(publics), frais="gratuit")
        elif kind == "rayon 10 km":
            p["rayon_km"] = 10
        elif kind == "a distance":
            p["modes_accueil"] = "a-distance"
        elif kind == "texte avec faute":
            p["q"] = rng.choice(typos)
            del p["thematiques"]
        mix.append((kind, p))
    return mix


def explain(url: str, mix) -> None:
    from sqlalchemy.orm import Session
    from werkzeug.datastructures import MultiDict

    from search.postgres import PostgresBackend
    from web.search_ import query_from_args

    engine = create_engine(url)
    seen = set()
    with Session(engine) as session:
        for kind, params in mix:
            if kind in seen:
                continue
            seen.add(kind)
            plans: list[str] = []
            query = query_from_args(MultiDict({k: str(v) for k, v in params.items()}))
            PostgresBackend(session, explain_into=plans).search(query)
            print(f"\n=== EXPLAIN ANALYZE — {kind}: {params}")
            print(plans[0])
    engine.dispose()


def run(url: str, mix, port: int, clients: int) -> None:
    env = {"OFFRE_ENV": "development", **os.environ, "DATABASE_URL": url, "SEARCH_BACKEND": "postgres"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "web.app:create_app()"],
        cwd=ROOT, env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1/services/search?"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        for _, p in mix[:20]:  # warm-up (connections, caches)
            try:
                urllib.request.urlopen(base + urlencode(p), timeout=30).read()
            except urllib.error.HTTPError as exc:
                raise SystemExit(f"{exc.code} for {p}: {exc.read()[:300]!r}") from exc

        errors: list[str] = []

        def one(item):
            kind, p = item
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(base + urlencode(p), timeout=30) as r:
                    r.read()
            except urllib.error.HTTPError as exc:
                errors.append(f"{exc.code} {p}: {exc.read()[:200]!r}")
            return kind, (time.perf_counter() - t) * 1000

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(one, mix))
        elapsed = time.perf_counter() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    def pct(values, q):
        values = sorted(values)
        return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]

    if errors:
        print(f"{len(errors)} erreurs, dont : {errors[0]}")
    all_ms = [ms for _, ms in results]
    print(f"\n{len(results)} requêtes, {clients} clients, 2 workers gunicorn : "
          f"p50 {pct(all_ms, 50):.1f} ms, p95 {pct(all_ms, 95):.1f} ms, p99 {pct(all_ms, 99):.1f} ms, "
          f"{len(results) / elapsed:.1f} requêtes/s ; {hostspeed.describe()}")
    for kind in dict.fromkeys(k for k, _ in results):
        ms = [m for k, m in results if k == kind]
        print(f"  {kind:20s} p50 {statistics.median(ms):6.1f} ms  p95 {pct(ms, 95):6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--reuse", action="store_true", help="reuse the bench database if it exists")
    args = parser.parse_args()
    url = build(dbsetup.server_url(), args.services, args.reuse)
    mix = query_mix(url, args.queries)
    explain(url, mix)
    run(url, mix, args.port, args.clients)


if __name__ == "__main__":
    main()
