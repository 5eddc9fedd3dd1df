"""Duplicates across two imports: different organisations of one place are never
linked, a sure duplicate is hidden from the search, a doubtful one is proposed to the
moderators and stays visible (importers/duplicates.py, migration 0012)."""

from __future__ import annotations

from sqlalchemy import select, text

from catalogue.accounts import ModerationItem
from catalogue.models import Service, Structure
from tests.importers.conftest import counts
from tests.importers.test_rules import _ndjson

DEMARCHES = "difficultes-administratives-ou-juridiques--accompagnement-aux-demarches-administratives"
EMPLOI = "trouver-un-emploi--repondre-a-des-offres-demploi"


def _structure(source, id_, nom, insee, lon, lat, **extra):
    return {"source": source, "id": id_, "nom": nom, "date_maj": "2025-11-02", "code_insee": insee,
            "longitude": lon, "latitude": lat, **extra}


def _offer(source, id_, structure, nom, thematique, insee):
    return {"source": source, "id": id_, "structure_id": structure, "nom": nom,
            "description": "Sur rendez-vous, avec un conseiller.", "date_maj": "2025-11-02",
            "thematiques": [thematique], "publics": ["tous-publics"], "code_insee": insee}


def _first_source():
    dora = "dora"
    return [
        _structure(dora, "fs-18", "France Services Paris 18e Arrondissement", "75118", 2.3443, 48.8924,
                   adresse="1 place Jules-Joffrin", code_postal="75018", telephone="01 53 41 18 18"),
        _structure(dora, "emmaus-lyon3", "Emmaüs Lyon 3e", "69383", 4.8570, 45.7600, siret="77567078200039"),
        _structure(dora, "lien", "Association Le Lien Mérignac", "33281", -0.6440, 44.8430,
                   telephone="05 56 12 34 56"),
        _structure(dora, "ccas", "CCAS de Mérignac", "33281", -0.6457, 44.8386, siret="26330281500019",
                   telephone="05 56 55 66 50", adresse="60 avenue du Maréchal de Lattre de Tassigny",
                   courriel="ccas@merignac.fr"),
        _structure(dora, "pe", "Maison de l'emploi de Mérignac", "33281", -0.6500, 44.8450, telephone="05 57 00 11 22",
                   adresse="12 rue Jacques Prévert"),
        _offer(dora, "fs-18-d", "fs-18", "Aide aux démarches en ligne", DEMARCHES, "75118"),
        _offer(dora, "emmaus-d", "emmaus-lyon3", "Aide aux démarches en ligne", DEMARCHES, "69383"),
        _offer(dora, "lien-d", "lien", "Aide aux démarches en ligne", DEMARCHES, "33281"),
        _offer(dora, "ccas-d", "ccas", "Aide aux démarches administratives en ligne", DEMARCHES, "33281"),
        _offer(dora, "pe-cv", "pe", "Atelier CV et lettre de motivation", EMPLOI, "33281"),
    ]


def _second_source():
    cd = "cd33"
    return [
        _structure(cd, "ft-18", "Agence France Travail Paris 18e Arrondissement", "75118", 2.3478, 48.8917,
                   adresse="15 rue Championnet", code_postal="75018", telephone="39 49"),
        _structure(cd, "fs-lyon3", "France Services Lyon 3e", "69383", 4.8590, 45.7605, siret="21690123100011"),
        _structure(cd, "rebond", "Association Rebond Mérignac", "33281", -0.6420, 44.8435,
                   telephone="05 56 98 76 54"),
        _structure(cd, "ccas", "Centre communal d'action sociale Mérignac", "33281", -0.6459, 44.8388,
                   telephone="+33 5 56 55 66 50", adresse="60 av. du Maréchal-de-Lattre-de-Tassigny",
                   courriel="CCAS@merignac.fr"),
        _structure(cd, "ft", "Cap emploi Mérignac", "33281", -0.6501, 44.8451,
                   telephone="0557001122", adresse="12, r. Jacques-Prévert"),
        _offer(cd, "ft-18-d", "ft-18", "Aide aux démarches en ligne", DEMARCHES, "75118"),
        _offer(cd, "fs-lyon3-d", "fs-lyon3", "Aide aux démarches en ligne", DEMARCHES, "69383"),
        _offer(cd, "rebond-d", "rebond", "Aide aux démarches en ligne", DEMARCHES, "33281"),
        _offer(cd, "ccas-d", "ccas", "Aide aux démarches administratives en ligne", DEMARCHES, "33281"),
        _offer(cd, "ft-cv", "ft", "Atelier CV et lettre de motivation", EMPLOI, "33281"),
    ]


def _get(db, model, source, source_id):
    return db.scalar(select(model).where(model.source == source, model.source_id == source_id))


def _hidden_in_search(db, service) -> bool:
    return db.scalar(text("SELECT duplicate FROM search_document WHERE service_id = :id"), {"id": service.id})


def test_duplicates_are_hidden_only_when_sure(db, run_import, tmp_path):
    run_import("data-inclusion", _ndjson(tmp_path / "dora.ndjson", _first_source()))
    report = run_import("data-inclusion", _ndjson(tmp_path / "cd33.ndjson", _second_source()))
    assert counts(report, "structure")["doublons"] == 2 and counts(report, "service")["doublons"] == 2

    # Different organisations of one place: never linked, their offers stay searchable.
    for structure_id, service_id in (("ft-18", "ft-18-d"), ("fs-lyon3", "fs-lyon3-d"), ("rebond", "rebond-d")):
        structure = _get(db, Structure, "cd33", structure_id)
        service = _get(db, Service, "cd33", service_id)
        assert structure.duplicate_of_id is None and service.duplicate_of_id is None, structure.nom
        assert _hidden_in_search(db, service) is False

    # The same CCAS, written in full, without its SIRET: hidden, and so is its offer.
    ccas, ccas_a = _get(db, Structure, "cd33", "ccas"), _get(db, Structure, "dora", "ccas")
    assert ccas.duplicate_of_id == ccas_a.id and ccas.duplicate_hidden and ccas.duplicate_score >= 0.9
    offer = _get(db, Service, "cd33", "ccas-d")
    assert offer.duplicate_of_id == _get(db, Service, "dora", "ccas-d").id and offer.duplicate_hidden
    assert _hidden_in_search(db, offer) is True

    # Same address and phone under another name, that nothing says is one (a maison de
    # l'emploi and Cap emploi may share a door): proposed to the moderators, visible
    # meanwhile, and its offer too.
    ft = _get(db, Structure, "cd33", "ft")
    assert ft.duplicate_of_id == _get(db, Structure, "dora", "pe").id and not ft.duplicate_hidden
    assert 0.5 <= ft.duplicate_score < 0.85
    cv = _get(db, Service, "cd33", "ft-cv")
    assert cv.duplicate_of_id == _get(db, Service, "dora", "pe-cv").id and not cv.duplicate_hidden
    assert _hidden_in_search(db, cv) is False
    queued = {(i.service_id, i.structure_id) for i in db.scalars(select(ModerationItem).where(
        ModerationItem.kind == "doublon"))}
    assert (None, ft.id) in queued and (cv.id, ft.id) in queued and (offer.id, ccas.id) in queued

