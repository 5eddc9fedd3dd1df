"""The place rule (catalogue.places) in an import of another source than Soliguide."""

from __future__ import annotations


def test_every_importer_applies_the_rule_per_batch(db, run_import, tmp_path):
    """A data·inclusion file (another source than Soliguide): Paris given as the
    commune with a point in its 3e, a postal code as the code without a point, and a
    point at sea with an unknown code (kept, placed by its point, code removed)."""
    import json

    from sqlalchemy import select

    from catalogue.models import Service, Structure
    from tests.importers.conftest import counts

    base = {"source": "cd75", "date_maj": "2026-11-02"}
    structures = [
        {**base, "id": "s-paris", "nom": "Association du Marais", "code_insee": "75056", "code_postal": "75003",
         "commune": "Paris", "adresse": "12 rue Perrée", "longitude": 2.3628, "latitude": 48.8637},
        {**base, "id": "s-lyon", "nom": "Maison des solidarités Lyon 3", "code_insee": "69003",
         "code_postal": "69003", "commune": "Lyon", "adresse": "18 rue Servient"},
        {**base, "id": "s-large", "nom": "Permanence en mer", "code_insee": "56999",
         "longitude": -3.0, "latitude": 47.0},
    ]
    services = [
        {**base, "id": "v-paris", "structure_id": "s-paris", "nom": "Consigne solidaire",
         "description": "Une consigne pour ses papiers et son téléphone, sans rendez-vous.",
         "thematiques": ["numerique--acceder-a-des-services-en-ligne"], "publics": ["tous-publics"],
         "code_insee": "75003", "code_postal": "75003", "commune": "Paris"},
    ]
    folder = tmp_path / "di"
    folder.mkdir()
    (folder / "structures.json").write_text(json.dumps(structures))
    (folder / "services.json").write_text(json.dumps(services))
    report = run_import("data-inclusion", folder)
    assert report["rejets"] == []
    assert counts(report, "structure")["crees"] == 3
    found = {s.source_id: (s.code_insee, s.commune) for s in db.scalars(select(Structure).where(Structure.source == "cd75"))}
    assert found == {"s-paris": ("75103", "Paris"), "s-lyon": ("69383", "Lyon"), "s-large": (None, None)}
    service = db.scalar(select(Service).where(Service.source_id == "v-paris"))
    assert service.code_insee == "75103"
    warnings = report["avertissements"]
    assert warnings["code commune 75056 → 75103 (Paris 3e Arrondissement) d'après les coordonnées"] == 1
    assert warnings["code commune 75003 → 75103 (Paris 3e Arrondissement) d'après le code postal "
                    "et le nom de la commune"] == 1
    assert warnings["code commune 69003 → 69383 (Lyon 3e Arrondissement) d'après le code postal "
                    "et le nom de la commune"] == 1
    assert warnings["commune inconnue : 56999 (ce code n'est pas celui d'une commune ; les coordonnées ne "
                    "sont dans aucune commune ; pas de code postal) : code retiré, le lieu est placé par ses "
                    "coordonnées"] == 1
    # The source's values stay in raw.
    assert db.scalar(select(Structure.raw).where(Structure.source_id == "s-paris"))["code_insee"] == "75056"
    # A second import: nothing changes.
    again = run_import("data-inclusion", folder)
    assert counts(again, "structure")["inchanges"] == 3
    assert counts(again, "service")["inchanges"] == 1
