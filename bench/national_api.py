"""The national data·inclusion API source, end to end against the tests' stand-in of
the API (tests/importers/national_api.py, on a loopback port): a synthetic national
base (structures and services in the Aisne, remote services all over France, some
covering the Aisne), pulled twice (all created, then all unchanged) into a dedicated
database. Prints the time to fetch the pages, to load them, and the requests made.

    .venv/bin/python bench/national_api.py [--structures 3000] [--services 6000]
        [--remote 15000] [--page-size 1000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import hostspeed  # noqa: E402  (bench/, beside this script)

THEMATIQUES = [
    "mobilite--preparer-un-permis", "famille--garde-denfants", "logement-hebergement--louer-un-logement",
    "numerique--maitriser-les-fondamentaux-du-numerique", "trouver-un-emploi--repondre-a-des-offres-demploi",
]
PRODUCERS = ["dora", "france-travail", "mes-aides", "emplois-de-linclusion", "action-logement"]


def _structure(rng, source, i, code, lon, lat) -> dict:
    return {"source": source, "id": f"{source}--s{i}", "nom": f"Structure d'insertion {i}",
            "date_maj": "2026-10-01", "code_insee": code, "longitude": lon, "latitude": lat,
            "siret": f"{10**13 + i:014d}", "adresse_certifiee": True, "score_qualite": 0.5, "doublons": []}


def _service(rng, source, i, structure_id, code, lon, lat, remote, zone) -> dict:
    return {"source": source, "id": f"{source}--v{i}", "structure_id": structure_id,
            "nom": f"Offre d'accompagnement numéro {i}",
            "description": "Un accompagnement personnalisé vers l'emploi et l'autonomie.",
            "date_maj": "2026-10-01", "type": "accompagnement", "thematiques": rng.sample(THEMATIQUES, 2),
            "publics": ["tous-publics"], "frais": "gratuit",
            "modes_accueil": ["a-distance"] if remote else ["en-presentiel"],
            "modes_mobilisation": ["telephoner"], "mobilisable_par": ["professionnels"],
            "zone_eligibilite": zone, "code_insee": code, "longitude": lon, "latitude": lat,
            "adresse_certifiee": True, "score_qualite": 0.6}


def generate(api, n_structures, n_services, n_remote, aisne, elsewhere) -> int:
    """Fill the stand-in; returns how many remote services placed elsewhere cover the Aisne."""
    rng = random.Random(2026)
    api.structures, api.services = [], []
    for i in range(n_structures):
        code, lon, lat = aisne[i % len(aisne)]
        api.structures.append(_structure(rng, PRODUCERS[i % len(PRODUCERS)], i, code, lon, lat))
    for i in range(n_services):
        s = api.structures[i % n_structures]
        api.services.append(_service(rng, s["source"], i, s["id"], s["code_insee"], s["longitude"],
                                     s["latitude"], remote=i % 10 == 0, zone=["02"]))
    covering = 0
    outside = max(1, n_remote // 50)
    for j in range(outside):
        code, lon, lat = elsewhere[j % len(elsewhere)]
        api.structures.append(_structure(rng, PRODUCERS[j % len(PRODUCERS)], n_structures + j, code, lon, lat))
    for k in range(n_remote):
        s = api.structures[n_structures + k % outside]
        zone = ["france"] if k % 10 == 0 else ([s["code_insee"][:2]] if k % 10 < 9 else None)
        covering += k % 10 == 0
        api.services.append(_service(rng, s["source"], n_services + k, s["id"], s["code_insee"],
                                     s["longitude"], s["latitude"], remote=True, zone=zone))
    return covering


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--structures", type=int, default=3000)
    parser.add_argument("--services", type=int, default=6000)
    parser.add_argument("--remote", type=int, default=15000)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()

    import re

    from pytest_httpserver import HTTPServer
    from sqlalchemy import text

    from catalogue.db import make_engine, make_sessionmaker
    from importers import national
    from tests import dbsetup
    from tests.importers.national_api import TOKEN, FakeNationalApi

    server = dbsetup.server_url()
    template = dbsetup.build_template(server)
    url = dbsetup.create_test_database(server, template, label="bench_national_")
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    http = HTTPServer(host="127.0.0.1", port=0)
    api = FakeNationalApi()
    http.expect_request(re.compile(r"^/api/v1/.*")).respond_with_handler(api.handle)
    http.start()
    try:
        with sessions() as s:
            rows = s.execute(text(
                "SELECT code, departement_code, ST_X(centre::geometry), ST_Y(centre::geometry) FROM geo_commune "
                "WHERE departement_code IN ('02', '59', '62', '75', '13', '69') AND type = 'COM' ORDER BY code")).all()
        aisne = [(r[0], r[2], r[3]) for r in rows if r[1] == "02"]
        elsewhere = [(r[0], r[2], r[3]) for r in rows if r[1] != "02"]
        covering = generate(api, args.structures, args.services, args.remote, aisne, elsewhere)
        print(f"national base: {len(api.structures)} structures, {len(api.services)} services "
              f"({args.remote} remote ones placed elsewhere, {covering} of which cover the Aisne)")
        with tempfile.TemporaryDirectory() as tmp:
            for label in ("first run (all created)", "second run (all unchanged)"):
                api.log.clear()
                run = national.NationalRun(sessions, base_url=http.url_for("/"), token=TOKEN, departement="02",
                                           page_size=args.page_size, spool_dir=Path(tmp) / "spool")
                t0 = time.perf_counter()
                fetched = run.fetch()
                fetch_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                loader = run.load()
                load_s = time.perf_counter() - t0
                c = loader.report.as_dict()["compteurs"]
                print(f"{label}: fetch {fetch_s:.1f} s ({len(api.log)} requests; "
                      f"{len(fetched.structures)} structures, {len(fetched.services)} services kept), "
                      f"load {load_s:.1f} s; services {c['service']}")
        print(f"machine: {hostspeed.describe()}")
    finally:
        http.stop()
        engine.dispose()
        dbsetup.drop_database(server, url)


if __name__ == "__main__":
    main()
