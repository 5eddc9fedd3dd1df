"""Import benchmark: a data·inclusion v1 NDJSON of 20,000 structures and 100,000
services, imported end to end (framing pass, validation, upsert with the audit and
outbox triggers on, duplicates) into a dedicated database, then imported again
(everything unchanged). Prints throughput and peak RSS.

    .venv/bin/python bench/import.py [--structures 20000] [--services 100000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import hostspeed  # noqa: E402  (bench/, beside this script)

THEMATIQUES = [
    "mobilite--preparer-un-permis", "mobilite--financer-ma-mobilite", "famille--garde-denfants",
    "logement-hebergement--louer-un-logement", "numerique--maitriser-les-fondamentaux-du-numerique",
    "trouver-un-emploi--repondre-a-des-offres-demploi", "sante--acces-aux-soins",
]
PUBLICS = ["jeunes", "demandeurs-emploi", "familles", "beneficiaires-des-minimas-sociaux", "femmes"]


def generate(path: Path, n_structures: int, n_services: int, communes: list[tuple[str, float, float]]) -> None:
    rng = random.Random(2026)
    with open(path, "w") as f:
        for i in range(n_structures):
            code, lon, lat = communes[i % len(communes)]
            f.write(json.dumps({
                "source": "bench", "id": f"bench-s{i}", "nom": f"Structure d'insertion {i}",
                "date_maj": "2025-06-01", "code_insee": code, "siret": f"{10**13 + i:014d}",
                "longitude": round(lon + rng.uniform(-0.01, 0.01), 6),
                "latitude": round(lat + rng.uniform(-0.01, 0.01), 6),
                "telephone": "03 23 00 00 00", "reseaux_porteurs": ["mission-locale"],
            }, ensure_ascii=False) + "\n")
        for i in range(n_services):
            s = i % n_structures
            code, lon, lat = communes[s % len(communes)]
            f.write(json.dumps({
                "source": "bench", "id": f"bench-v{i}", "structure_id": f"bench-s{s}",
                "nom": f"Offre d'accompagnement numéro {i}",
                "description": "Un accompagnement personnalisé vers l'emploi et l'autonomie.",
                "date_maj": "2025-06-01", "type": "accompagnement",
                "thematiques": rng.sample(THEMATIQUES, 2), "publics": rng.sample(PUBLICS, 2),
                "frais": "gratuit", "modes_accueil": ["en-presentiel"],
                "modes_mobilisation": ["telephoner"], "mobilisable_par": ["professionnels"],
                "zone_eligibilite": [code[:2]], "code_insee": code,
                "horaires_accueil": "Mo-Fr 09:00-12:00,14:00-17:00",
                **({"longitude": lon, "latitude": lat} if i % 3 else {}),
            }, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--structures", type=int, default=20_000)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    from sqlalchemy import text

    from catalogue.db import make_engine, make_sessionmaker
    from importers import load, registry
    from tests import dbsetup

    server = dbsetup.server_url()
    template = dbsetup.build_template(server)
    url = dbsetup.create_test_database(server, template, label="bench_import_")
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as s:
            communes = [tuple(r) for r in s.execute(text(
                "SELECT code, ST_X(centre::geometry), ST_Y(centre::geometry) FROM geo_commune "
                "WHERE departement_code IN ('02', '59', '60', '62', '80') AND type = 'COM' ORDER BY code"))]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.ndjson"
            t0 = time.perf_counter()
            generate(path, args.structures, args.services, communes)
            size = path.stat().st_size / 1e6
            print(f"generated {path.name}: {args.structures} structures + {args.services} services, "
                  f"{size:.0f} MB in {time.perf_counter() - t0:.1f} s")
            for label in ("first import (all created)", "second import (all unchanged)"):
                t0 = time.perf_counter()
                loader = registry.run_import(sessions, "data-inclusion", str(path), Path(tmp),
                                             batch_size=args.batch_size)
                elapsed = time.perf_counter() - t0
                c = loader.report.as_dict()["compteurs"]
                total = args.structures + args.services
                print(f"{label}: {elapsed:.1f} s — {args.services / elapsed:,.0f} services/s, "
                      f"{total / elapsed:,.0f} records/s; services {c['service']}")
                t = loader.timings
                print(f"  writers: {t['ecriture']:.1f} s writing batches (database included; summed over "
                      f"the {load.WRITERS} writing threads), "
                      f"{t['attente']:.1f} s waiting for the worker, {t['fin']:.1f} s final steps "
                      f"(snapshot, duplicates); worker: {t['preparation']:.1f} s preparing")
                print(f"  of the writing: {t['lieux']:.1f} s checking the places against the communes' "
                      f"contours (catalogue.places)")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # The batches are prepared in a forked worker process (importers.load).
        worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak RSS: {peak_mb:.0f} MB (worker process preparing the batches: {worker_mb:.0f} MB)")
        cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
        load1, load5, _ = os.getloadavg()
        print(f"machine: {cpus} CPU(s), load average {load1:.1f} (1 min), {load5:.1f} (5 min); "
              f"{hostspeed.describe()}")
    finally:
        engine.dispose()
        if not args.keep:
            dbsetup.drop_database(server, url)


if __name__ == "__main__":
    main()
