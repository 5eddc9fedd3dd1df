"""Search benchmark at national scale (PostgreSQL engine).

    .venv/bin/python bench/search.py --services 100000 [--queries 500] [--reuse]
    .venv/bin/python bench/search.py --services 100000 --reuse --broad --clients 8 --queries 2000
    .venv/bin/python bench/search.py --services 100000 --reuse --broad --clients 8 --seconds 20 [--same]
    .venv/bin/python bench/search.py --services 1000000 --multiply --clients 1

Builds a database `offre_bench_<n>` from the test template (migrations + the whole
référentiel) and imports into it the national-shaped benchmark catalogue of `n`
services (bench/catalogue.py), then runs a fixed mix of queries
through GET /api/v1/services/search served by gunicorn with 2 workers, and prints
p50/p95/p99 latency, queries per second, and the EXPLAIN ANALYZE plans of one
query of each kind. `--seconds s`: each client loops over the mix for s seconds
(the issue's protocol is 8 clients for 20 s on one broad search: `--same`, Lille +
numérique); the workers' search cache counters (hits in the process, in the shared
cache, computed) are printed as they stop (gunicorn's worker_exit hook). The API's quota per address is off (API_RATE_LIMIT_PER_MINUTE=0:
the bench is one address), the search cache as configured (SEARCH_CACHE_SIZE).

`--multiply`: a catalogue of n = k × 100,000 services built in SQL from
`offre_bench_100000` (built first if missing), importing 1,000,000 services being too
long here: the database copied, then each structure and service copied k - 1 times
(new ids, source_id suffixed `#i`, same places and contents), the search rows written
by the triggers as for any insert (the audit triggers off during the copy).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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
import siblings  # noqa: E402  (bench/, beside this script)

from catalogue import vocabulary  # noqa: E402
from tests import dbsetup  # noqa: E402


def pct(values, q: float) -> float:
    """The q-th percentile of `values` (the nearest rank)."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def catalogue_module():
    """bench/catalogue.py as a module (bench/ is not a package): the other benchmarks use it too."""
    return siblings.load("catalogue")


def build(server: str, n: int, reuse: bool, name: str | None = None) -> str:
    """The database `name` (`offre_bench_<n>` by default): the test template (migrations,
    référentiel) and the national-shaped benchmark catalogue (bench/catalogue.py: n / 4
    structures and n services) imported by the importer, as a département would load it
    (bench/map.py builds its own the same way)."""
    from catalogue.db import make_engine, make_sessionmaker
    from importers import registry

    name = name or f"offre_bench_{n}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    url = dbsetup._with_db(server, name)
    if exists and reuse:
        from alembic import command

        from web.commands.base import alembic_config

        command.upgrade(alembic_config(url), "head")  # a bench database of an older schema
        return url
    template = dbsetup.build_template(server)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    started = time.monotonic()
    catalogue = catalogue_module()
    engine = make_engine(url)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "catalogue"
        catalogue.generate(folder, max(1, n // 4), n, catalogue.load_communes(url))
        registry.run_import(make_sessionmaker(engine), "data-inclusion", str(folder), Path(tmp))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"imported the benchmark catalogue ({n} services) in {time.monotonic() - started:.0f} s -> {name}")
    engine.dispose()
    return url


def multiply(server: str, n: int, reuse: bool, base: int = 100_000) -> str:
    """`offre_bench_<n>` as n / base copies of `offre_bench_<base>` (see the module)."""
    name = f"offre_bench_{n}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    url = dbsetup._with_db(server, name)
    if exists and reuse:
        admin.dispose()
        return url
    with admin.connect() as c:
        if not c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": f"offre_bench_{base}"}):
            build(server, base, reuse=False)
    started = time.monotonic()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "offre_bench_{base}"'))
    admin.dispose()
    from alembic import command

    from web.commands.base import alembic_config

    command.upgrade(alembic_config(url), "head")  # a copy of an older schema
    engine = create_engine(url)
    audit = [("service", "service_audit_insert"), ("structure", "structure_audit_insert")]
    with engine.connect() as c:
        columns = {t: c.scalars(text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = :t AND is_generated = 'NEVER' ORDER BY ordinal_position"), {"t": t}).all()
            for t in ("structure", "service")}
        for table, trigger in audit:
            c.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        c.execute(text("CREATE TEMP TABLE o_structure AS SELECT * FROM structure; "
                       "CREATE TEMP TABLE o_service AS SELECT * FROM service"))
        c.commit()
        copied = {"id": "md5(id::text || :i)::uuid", "source_id": "source_id || '#' || :i",
                  "structure_id": "md5(structure_id::text || :i)::uuid",
                  "duplicate_of_id": "md5(duplicate_of_id::text || :i)::uuid"}
        for i in range(1, n // base):
            for table in ("structure", "service"):
                cols = columns[table]
                values = ", ".join(copied.get(col, col) for col in cols)
                c.execute(text(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {values} FROM o_{table}"),
                          {"i": str(i)})
            c.commit()
            print(f"  copy {i}/{n // base - 1}: {time.monotonic() - started:.0f} s", flush=True)
        for table, trigger in audit:
            c.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
        c.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print(f"built {name} ({n} services) from offre_bench_{base} in SQL in {time.monotonic() - started:.0f} s")
    return url


def query_mix(url: str, count: int, seed: int = 7, broad: bool = False,
              kind: str | None = None) -> list[tuple[str, dict]]:
    """A fixed mix: (kind, parameters). `broad`: a large city (over 100,000
    inhabitants) and one SPIE thematic, thousands of results each. `kind`: `count`
    searches of that kind only (the issue's protocol: commune+thematique)."""
    if kind:
        return [m for m in query_mix(url, count * 6, seed) if m[0] == kind][:count]
    rng = random.Random(seed)
    engine = create_engine(url)
    with engine.connect() as c:
        communes = c.execute(text(
            "SELECT code FROM geo_commune WHERE type = 'COM' AND population > :p ORDER BY code"
        ), {"p": 100_000 if broad else 2000}).scalars().all()
    engine.dispose()
    groups = [g.code for g in vocabulary.spie_groups()]
    if broad:
        return [("grande ville+thématique SPIE",
                 {"code_commune": rng.choice(communes), "thematiques": rng.choice(groups), "size": 20})
                for _ in range(count)]
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

    from search.params import query_from_args
    from search.postgres import PostgresBackend

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


def _api_search(sessions, cache, query) -> float:
    """The milliseconds of one API search through `cache` (as web/api/search.py)."""
    from flask import json

    from search.postgres import PostgresBackend
    from search.rows import api_services
    from web.api.search import search_page_dict

    with sessions() as s:
        s.execute(text("SELECT 1"))  # the connection taken and the transaction begun, as in a request
        started = time.perf_counter()
        page = cache.get(s, ("page", query), lambda: PostgresBackend(s).search(query))
        cache.get(s, ("api", query), lambda: json.dumps(search_page_dict(page, api_services(s, page.hits))))
        return (time.perf_counter() - started) * 1000


def cache_costs(url: str, mix, rounds: int = 30) -> None:
    """What one broad API search costs in the cache (search/cache.py), page and
    encoded answer, in this process: computed (a miss), read from the shared table
    (another worker computed it), kept in the process (a local hit)."""
    from flask import Flask
    from werkzeug.datastructures import MultiDict

    from catalogue.db import make_engine, make_sessionmaker
    from search.cache import SearchCache
    from search.params import query_from_args

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    queries = [query_from_args(MultiDict({k: str(v) for k, v in p.items()})) for _, p in mix[:rounds]]
    times: dict[str, list[float]] = {"calculée sans partage": [], "calculée": [], "partagée": [], "locale": []}
    with Flask(__name__).app_context():
        for i, query in enumerate(queries):
            with sessions() as s:
                s.execute(text("DELETE FROM search_cache_entry"))
                s.commit()
            shared = SearchCache(10, 10)
            # The two computations in turn first (the second finds the pages in PostgreSQL's buffers).
            misses = [("calculée sans partage", SearchCache(10, 0)), ("calculée", SearchCache(10, 10))][::1 - 2 * (i % 2)]
            for kind, cache in (*misses, ("partagée", shared), ("locale", shared)):
                times[kind].append(_api_search(sessions, cache, query))
    engine.dispose()
    print("coût d'une recherche large de l'API dans le cache (page et réponse encodée), médianes sur "
          f"{len(queries)} : " + ", ".join(f"{k} {statistics.median(v):.2f} ms" for k, v in times.items())
          + f" ; {hostspeed.describe()}")


# The protocol (issue 22): one broad search, repeated by 8 clients for 20 s.
SAME = ("Lille+numérique (répétée)", {"code_commune": "59350", "thematiques": "numerique", "size": 20})

# Written beside the server: each worker prints its search cache's counters as it
# stops (no route, nothing in the application: gunicorn's worker_exit hook).
STATS_HOOK = """
import os

try:  # each worker as `offre serve` sets it up (absent from older trees: bench/paired.py)
    from web.gunicorn_conf import post_worker_init  # noqa: F401
except ImportError:
    pass


def worker_exit(server, worker):
    from web.search_ import service
    cache = service(worker.wsgi).cache
    line = f"search-cache {cache.hits} {getattr(cache, 'shared_hits', 0)} {cache.misses}\\n"
    os.write(1, line.encode())  # one write: the workers' lines are not interleaved
"""


def start_server(url: str, port: int, workers: int, threads: int, hook: Path, cwd: Path = ROOT) -> subprocess.Popen:
    env = {"OFFRE_ENV": "development", **os.environ, "DATABASE_URL": url, "SEARCH_BACKEND": "postgres",
           "API_RATE_LIMIT_PER_MINUTE": "0"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(workers), "--threads", str(threads),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "-c", str(hook), "web.app:create_app()"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, text=True,
    )
    for _ in range(100):
        if server.poll() is not None:  # the port taken (by another benchmark?): never measure another server
            raise SystemExit(f"gunicorn stopped ({server.returncode}), port {port}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            break
        except OSError:
            time.sleep(0.2)
    return server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_server(server: subprocess.Popen) -> str:
    """Stops the server; its workers' cache counters, summed, as a sentence."""
    server.send_signal(signal.SIGTERM)
    out, _ = server.communicate(timeout=30)
    workers = re.findall(r"^search-cache (\d+) (\d+) (\d+)$", out, re.MULTILINE)
    hits, shared, misses = (sum(int(w[i]) for w in workers) for i in range(3))
    return f"cache ({len(workers)} workers) : {hits} trouvées dans le processus, {shared} dans le cache partagé, {misses} calculées"


def drive(base: str, mix, clients: int, seconds: float | None) -> tuple[list, list[str], float]:
    """Runs the mix: each query once (`seconds` None), or each client looping over it
    for `seconds`. Returns ([(kind, ms)], errors, elapsed seconds)."""
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
    if seconds is None:
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(one, mix))
        return results, errors, time.perf_counter() - started
    lock, position, results = threading.Lock(), [0], []

    def client():
        while time.perf_counter() - started < seconds:
            with lock:
                item = mix[position[0] % len(mix)]
                position[0] += 1
            results.append(one(item))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors, time.perf_counter() - started


def run(url: str, mix, port: int, clients: int, seconds: float | None = None,
        workers: int = 2, threads: int = 1, warm: bool = False) -> None:
    engine = create_engine(url)
    with engine.begin() as c:  # the shared search cache (search/cache.py) starts empty, as after a change
        c.execute(text("DELETE FROM search_cache_entry"))
    if warm:  # then what the search worker does after a change (search.national.warm)
        started = time.perf_counter()
        from catalogue.db import make_sessionmaker
        from search.service import SearchService

        count = SearchService(cache_size=100, shared_cache_size=10_000).warm(make_sessionmaker(engine))
        print(f"part nationale de {count} recherches préparée en {time.perf_counter() - started:.1f} s (--warm)")
    engine.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        hook = Path(tmp) / "bench_hook.py"
        hook.write_text(STATS_HOOK)
        server = start_server(url, port, workers, threads, hook)
        try:
            base = f"http://127.0.0.1:{port}/api/v1/services/search?"
            try:  # warm-up (connections, both workers): not a search of the mix, its cache stays cold
                for _ in range(4):
                    urllib.request.urlopen(base + urlencode({"code_commune": "02408", "size": 1}), timeout=30).read()
            except urllib.error.HTTPError as exc:
                raise SystemExit(f"{exc.code}: {exc.read()[:300]!r}") from exc
            results, errors, elapsed = drive(base, mix, clients, seconds)
        finally:
            stats = stop_server(server)

    if errors:
        print(f"{len(errors)} erreurs, dont : {errors[0]}")
    all_ms = [ms for _, ms in results]
    during = f" en {elapsed:.1f} s" if seconds else ""
    print(f"\n{len(results)} requêtes{during} ({len({repr(p) for _, p in mix})} distinctes), {clients} clients, "
          f"{workers} workers gunicorn × {threads} threads : "
          f"p50 {pct(all_ms, 50):.1f} ms, p95 {pct(all_ms, 95):.1f} ms, p99 {pct(all_ms, 99):.1f} ms, "
          f"{len(results) / elapsed:.1f} requêtes/s ; {stats} ; {hostspeed.describe()}")
    for kind in dict.fromkeys(k for k, _ in results):
        ms = [m for k, m in results if k == kind]
        print(f"  {kind:20s} p50 {statistics.median(ms):6.1f} ms  p95 {pct(ms, 95):6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--port", type=int, help="the server's port (default: a free one)")
    parser.add_argument("--reuse", action="store_true", help="reuse the bench database if it exists")
    parser.add_argument("--broad", action="store_true",
                        help="only broad searches (a large city + a SPIE thematic); use with --clients 8")
    parser.add_argument("--seconds", type=float,
                        help="duration mode: the clients loop over the mix for this long (the issue's protocol: 20)")
    parser.add_argument("--same", action="store_true",
                        help="one broad search repeated (Lille + numérique, the issue's protocol)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--no-explain", action="store_true", help="skip the EXPLAIN ANALYZE plans")
    parser.add_argument("--cache-costs", action="store_true",
                        help="only measure a miss, a shared hit and a local hit of the search cache")
    parser.add_argument("--warm", action="store_true",
                        help="prepare the national parts first, as the search worker does after each change")
    parser.add_argument("--kind", help="only this kind of the mix, --queries of them "
                        "(the issue's protocol: commune+thematique)")
    parser.add_argument("--multiply", action="store_true",
                        help="build the catalogue in SQL from copies of the 100,000 one (see the module)")
    args = parser.parse_args()
    make = multiply if args.multiply else build
    url = make(dbsetup.server_url(), args.services, args.reuse)
    mix = [SAME] * args.queries if args.same else query_mix(url, args.queries, broad=args.broad, kind=args.kind)
    if args.cache_costs:
        return cache_costs(url, mix)
    if not args.no_explain:
        explain(url, mix)
    run(url, mix, args.port or free_port(), args.clients, args.seconds, args.workers, args.threads, args.warm)


if __name__ == "__main__":
    main()
