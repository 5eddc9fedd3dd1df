"""The search rows written by a bulk import (one statement-level refresh per batch,
importers.writers) are the very rows that the row-by-row refresh and the full
rebuild compute: same document, keys, zone, place, visibility (issue #22)."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.importers.conftest import counts

THEMATIQUES = [
    ["mobilite--preparer-un-permis", "mobilite--financer-ma-mobilite"],
    ["trouver-un-emploi--repondre-a-des-offres-demploi"],
    ["difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits"],
    ["trouver-un-emploi--maintien-dans-lemploi", "remobilisation--lien-social"],
    ["equipement-et-alimentation--alimentation"],
    ["numerique--acceder-a-des-services-en-ligne"],
]
MODES = [["en-presentiel"], ["a-distance"], ["en-presentiel", "a-distance"], []]
ZONES = [["02"], ["france"], [], ["02691", "60"], ["200043495"]]
PUBLICS = [["jeunes"], ["tous-publics"], ["demandeurs-emploi", "beneficiaires-des-minimas-sociaux"]]


def _file(path, structures: int, services: int) -> None:
    """Varied records: accents, remote and on-site offers, national and local zones,
    with and without coordinates, short and long descriptions, two sources (the
    keys of a new one get their id on the way: search_refresh's second pass)."""
    lines = []
    for i in range(structures):
        lines.append({"source": "essai" if i % 3 else "autre", "id": f"s{i}",
                      "nom": f"Maison de l'emploi n°{i} — Épinay", "code_insee": "02691",
                      "date_maj": "2026-01-05"})
    for n in range(services):
        i = n % structures
        record = {"source": "essai" if i % 3 else "autre", "id": f"v{n}", "structure_id": f"s{i}",
                  "nom": f"Atelier « numérique » {n} : démarches en ligne",
                  "description": f"Accompagnement individuel {n}, sans rendez-vous. " * (1 + n % 4 * 20),
                  "thematiques": THEMATIQUES[n % len(THEMATIQUES)], "modes_accueil": MODES[n % len(MODES)],
                  "zone_eligibilite": ZONES[n % len(ZONES)], "publics": PUBLICS[n % len(PUBLICS)],
                  "mobilisable_par": ["usagers", "professionnels"][: 1 + n % 2],
                  "type": ["atelier", "accompagnement", None][n % 3], "frais": ["gratuit", "payant", None][n % 3],
                  "code_insee": "02691", "date_maj": "2026-01-05"}
        if n % 2:
            record.update(longitude=3.3 + n / 1000, latitude=49.8 + n / 2000)
        lines.append(record)
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")


DOCUMENTS = text(
    "SELECT service_id, document::text, visible, duplicate, remote, on_site, zone, x, y, z, "
    "structure_id, code_insee, fresh_date, keys FROM search_document ORDER BY service_id"
)


def test_bulk_import_documents_equal_row_by_row_and_full_rebuild(db, run_import, tmp_path):
    path = tmp_path / "essai.ndjson"
    _file(path, structures=7, services=90)
    report = run_import("data-inclusion", path, batch_size=25)
    assert counts(report, "service")["crees"] == 90, report["rejets"][:3]
    bulk = db.execute(DOCUMENTS).all()
    assert len(bulk) == 90
    assert any(r.remote for r in bulk) and any(r.x is not None for r in bulk) and any(r.keys for r in bulk)
    ids = [r.service_id for r in bulk]
    # Row by row: each service's document computed alone.
    db.execute(text("DELETE FROM search_document"))
    for service_id in ids:
        db.execute(text("SELECT search_refresh(ARRAY[CAST(:id AS uuid)])"), {"id": service_id})
    assert db.execute(DOCUMENTS).all() == bulk
    # The full rebuild: every service at once.
    db.execute(text("DELETE FROM search_document"))
    db.execute(text("SELECT search_refresh(ARRAY(SELECT id FROM service))"))
    assert db.execute(DOCUMENTS).all() == bulk
