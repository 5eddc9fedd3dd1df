"""The structures' candidate pairs (importers/duplicates.py, read in chunks, each
structure read once) give exactly the links that scoring every pair of structures of
two sources would give, on a generated catalogue of close records with tricky names:
acronyms, misspellings, abbreviations, numbered branches, known other names, shared
phones and SIRETs."""

from __future__ import annotations

import random

from sqlalchemy import text

from importers import duplicates, matching
from tests.importers.test_rules import _ndjson

_NAMES = [
    ("CCAS de Mérignac", "Centre communal d'action sociale de Mérignac"),
    ("Pôle emploi Mérignac", "France Travail Mérignac"),
    ("Association Rebond", "Asso Rebond"),
    ("Emmaüs Solidarité", "Emmaus Solidarite"),
    ("Restos du cœur", "Restaurants du coeur"),
    ("Secours populaire français", "SPF"),
    ("Mission locale des Graves", "Mission locale Graves"),
    ("Saint-Vincent-de-Paul", "St Vincent de Paul"),
    ("Maison des solidarités 3e", "MDS 7e"),
    ("Croix-Rouge française", "Croix Rouge"),
    ("Le Lien", "Le Lein"),
    ("Accueil de jour Tremplin", "Tremplin accueil de jour"),
    ("Point information jeunesse", "PIJ"),
    ("Cap emploi", "Maison de l'emploi"),
]


def _structures(rng: random.Random, source: str, side: int, n: int) -> list[dict]:
    records = []
    for i in range(n):
        pair = rng.choice(_NAMES)
        nom = pair[side] if rng.random() < 0.7 else pair[1 - side]
        if rng.random() < 0.2:
            nom += f" {rng.randint(1, 4)}e"
        record = {"source": source, "id": f"{source}-{i}", "nom": nom, "date_maj": "2025-11-02",
                  "code_insee": "33281", "longitude": round(-0.6440 + rng.uniform(-0.012, 0.012), 5),
                  "latitude": round(44.8430 + rng.uniform(-0.008, 0.008), 5)}
        if rng.random() < 0.4:
            record["telephone"] = f"05 56 00 00 {rng.randint(10, 19)}"
        if rng.random() < 0.2:
            record["siret"] = rng.choice(["26330281500019", "77567078200039", "21690123100011"])
        if rng.random() < 0.3:
            record["adresse"] = f"{rng.randint(1, 3)} rue Jacques Prévert"
        records.append(record)
    return records


def _every_pair(db, catalogue: matching.Catalogue) -> dict:
    """Each pair of a structure of the second source and one of the first that is a
    candidate (the same SIRET, or within the radius), scored: {(new, old): match}."""
    rows = db.execute(text(
        "SELECT n.id::text AS n_id, o.id::text AS o_id, n.siret AS n_siret, o.siret AS o_siret, "
        "ST_Distance(n.location, o.location) AS d FROM structure n JOIN structure o "
        "ON o.source = 'dora' WHERE n.source = 'cd33'"
    )).all()
    prepared = duplicates._records(db, {i for r in rows for i in (r.n_id, r.o_id)})
    return {(r.n_id, r.o_id): matching.structure_match(prepared[r.n_id], prepared[r.o_id], r.d, catalogue)
            for r in rows if (r.n_siret and r.n_siret == r.o_siret) or r.d <= matching.RADIUS_M}


def test_the_candidate_pairs_give_the_links_of_every_pair(db, run_import, tmp_path, monkeypatch):
    rng = random.Random(22)
    monkeypatch.setattr(duplicates, "CHUNK", 37)  # several chunks, structures met again in later ones
    run_import("data-inclusion", _ndjson(tmp_path / "dora.ndjson", _structures(rng, "dora", 0, 120)))
    run_import("data-inclusion", _ndjson(tmp_path / "cd33.ndjson", _structures(rng, "cd33", 1, 120)))
    every = _every_pair(db, duplicates.structure_catalogue(db))
    best: dict = {}
    for (new, _), match in every.items():
        if match.suggest:
            best[new] = max(best.get(new, 0.0), match.score)
    linked = {r.id: r for r in db.execute(text(
        "SELECT id::text AS id, duplicate_of_id::text AS duplicate_of_id, duplicate_score, duplicate_hidden FROM structure "
        "WHERE source = 'cd33' AND duplicate_of_id IS NOT NULL"))}
    assert len(best) > 20 and any(r.duplicate_hidden for r in linked.values())
    assert linked.keys() == best.keys()
    for new, r in linked.items():
        # The best pair (of equal scores, any one of them: the same names, the same evidence).
        match = every[new, r.duplicate_of_id]
        assert match.score == best[new]
        assert (r.duplicate_score, r.duplicate_hidden) == (round(match.score, 3), match.hide)
