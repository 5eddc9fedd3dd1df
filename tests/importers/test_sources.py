"""DORA / v0, Soliguide and partner files: mapped to v1 as documented."""

from __future__ import annotations

from sqlalchemy import select

from catalogue import hours
from catalogue.models import Service, Structure
from importers.readers import RawRecord
from importers.sources import soliguide
from tests.importers.conftest import DATA, counts


def _dora(tmp_path):
    folder = tmp_path / "dora"
    folder.mkdir()
    for name in ("structures", "services"):
        (folder / f"{name}.json").write_bytes((DATA / f"dora-v0-{name}.json").read_bytes())
    return folder


def test_dora_v0_mapped_to_v1_with_region_expanded(db, run_import, tmp_path):
    report = run_import("dora", _dora(tmp_path))
    assert report["rejets"] == []
    assert counts(report, "service")["crees"] == 2
    svc = db.scalar(select(Service).where(Service.source_id == "c5a0d7f2-3b1e-4f7a-9a61-1e2f3a4b5c6d"))
    # Région Hauts-de-France (32) written as its five départements.
    assert svc.zone_eligibilite == ["02", "59", "60", "62", "80"]
    assert svc.thematiques == ["mobilite--financer-ma-mobilite", "mobilite--preparer-un-permis"]
    assert svc.publics == ["beneficiaires-des-minimas-sociaux", "demandeurs-emploi", "jeunes"]
    assert svc.type == "formation"
    assert svc.frais == "payant"
    assert svc.modes_mobilisation == ["envoyer-un-courriel", "telephoner"]
    assert svc.mobilisable_par == ["professionnels", "usagers"]
    assert "Sur orientation de son conseiller" in svc.mobilisation_precisions
    assert svc.date_maj.isoformat() == "2025-10-01"
    # The v0 thematique with no v1 equivalent is reported, not silently dropped.
    assert report["avertissements"] == {
        "thématique v0 sans équivalent v1 : mobilite--sans-equivalent-fictif": 1
    }
    numerique = db.scalar(select(Service).where(Service.nom == "Permanence numérique"))
    assert numerique.zone_eligibilite == ["200043495"]
    assert numerique.publics == ["tous-publics"]


def test_soliguide_hours_to_osm():
    place = {
        "newhours": {
            "closedHolidays": "CLOSED",
            "monday": {"open": True, "timeslot": [{"start": 900, "end": 1200}, {"start": 1400, "end": 1700}]},
            "tuesday": {"open": True, "timeslot": [{"start": 900, "end": 1200}, {"start": 1400, "end": 1700}]},
            "wednesday": {"open": False, "timeslot": []},
            "thursday": {"open": True, "timeslot": [{"start": 930, "end": 1200}]},
        }
    }
    closure = {"actif": False, "dateDebut": "2031-07-14T00:00:00.000Z", "dateFin": "2031-08-18T23:59:59.000Z"}
    expression = soliguide.opening_hours(place["newhours"], closure)
    assert expression == (
        "Mo-Tu 09:00-12:00,14:00-17:00; Th 09:30-12:00; PH off; 2031 Jul 14-2031 Aug 18 off"
    )
    assert hours.validate(expression) == expression
    from datetime import date, datetime

    assert hours.is_open(expression, datetime(2031, 9, 1, 10, 0)) is True  # a Monday
    assert hours.is_open(expression, datetime(2031, 7, 21, 10, 0)) is False  # summer closure
    assert hours.is_open(expression, datetime(2031, 9, 3, 10, 0)) is False  # Wednesday
    # A closure already over is left out; one without an end is until further notice.
    assert "off" not in soliguide.opening_hours(place["newhours"], closure, today=date(2031, 8, 19)).replace("PH off", "")
    open_ended = {"dateDebut": "2031-07-14T00:00:00.000Z", "dateFin": None}
    assert soliguide.opening_hours(place["newhours"], open_ended).endswith("; 2031 Jul 14+ off")


def test_soliguide_places(db, run_import):
    report = run_import("soliguide", DATA / "soliguide-places.json")
    assert report["rejets"] == []
    assert counts(report, "structure")["crees"] == 2
    assert counts(report, "service")["crees"] == 4
    resto = db.scalar(select(Structure).where(Structure.source == "soliguide", Structure.source_id == "48213"))
    assert resto.horaires_accueil.startswith("Mo-Tu 09:00-12:00,14:00-17:00; Th 09:30-12:00; PH off")
    assert resto.location_precision.value == "source"
    repas = db.scalar(select(Service).where(Service.source_id == "48213--64f0a1b2c3d4e5f6a7b8c9d0"))
    assert repas.nom == "Distribution de repas"
    assert repas.thematiques == ["equipement-et-alimentation--alimentation"]
    assert repas.publics == ["tous-publics"]
    assert repas.frais == "gratuit"
    assert "Sur inscription" in repas.conditions_acces
    douche = db.scalar(select(Service).where(Service.source_id == "48213--64f0a1b2c3d4e5f6a7b8c9d1"))
    assert douche.thematiques == []  # no v1 equivalent: kept, reported
    assert douche.publics == ["femmes", "personnes-en-situation-durgence"]
    assert douche.horaires_accueil == "Th 09:30-11:30; 2031 Jul 14-2031 Aug 18 off"  # place closure
    scooter = db.scalar(select(Service).where(Service.source_id == "51877--650000000000000000000001"))
    assert scooter.thematiques == ["mobilite--acceder-a-un-vehicule"]
    assert scooter.publics == ["jeunes"]
    assert scooter.frais == "payant" and scooter.frais_precisions == "2 € par jour de location."
    assert scooter.mobilisable_par == ["professionnels"]
    assert scooter.modes_mobilisation == ["telephoner"]
    legacy = db.scalar(select(Service).where(Service.source_id == "51877--650000000000000000000002"))
    assert legacy.thematiques == ["mobilite--acceder-a-un-vehicule"]  # legacy id 1202
    assert report["avertissements"] == {"catégorie Soliguide sans équivalent v1 : shower": 1}


def test_soliguide_normaliser_is_pure():
    place = {"lieu_id": 1, "name": "Lieu", "services_all": [{"category": "wifi"}]}
    items = soliguide.normalise(RawRecord(place))
    assert [i.kind for i in items] == ["structure", "service"]
    assert items[1].data["thematiques"] == ["numerique--acceder-a-une-connexion-internet"]


def test_partner_csv_with_yaml_mapping(db, run_import):
    from importers.sources.partner import parse_mapping

    mapping = parse_mapping((DATA / "partenaire-correspondance.yaml").read_text(encoding="utf-8"))
    report = run_import("partenaire", DATA / "partenaire-offres.csv", options={"mapping": mapping})
    assert report["rejets"] == []
    assert report["avertissements"] == {}
    assert counts(report, "structure")["crees"] == 1
    assert counts(report, "service")["crees"] == 3
    budget = db.scalar(select(Service).where(Service.source == "caf-aisne", Service.source_id == "CAF02-001"))
    assert budget.thematiques == ["difficultes-financieres--ameliorer-sa-gestion-budgetaire"]
    assert budget.publics == ["tous-publics"]
    assert budget.frais == "gratuit"
    assert budget.code_insee == "02408"  # from the postal code
    atelier = db.scalar(select(Service).where(Service.source_id == "CAF02-003"))
    assert atelier.frais == "payant"
    assert atelier.code_insee == "02691"
    assert atelier.location_precision.value == "commune"
    assert atelier.structure.nom == "CAF de l'Aisne"


def test_partner_template_round_trip(db, run_import, tmp_path, client):
    """The template downloaded from the site imports with the default mapping."""
    from importers.sources.partner import default_mapping_text, parse_mapping

    response = client.get("/modeles/offres.xlsx")
    assert response.status_code == 200
    path = tmp_path / "offres.xlsx"
    path.write_bytes(response.data)
    report = run_import("partenaire", path, options={"mapping": parse_mapping(default_mapping_text())})
    assert report["rejets"] == []
    svc = db.scalar(select(Service).where(Service.source == "partenaire", Service.source_id == "permis-jeunes-2026"))
    assert svc.thematiques == ["mobilite--financer-ma-mobilite", "mobilite--preparer-un-permis"]
    assert svc.type == "aide-financiere"
    assert svc.modes_mobilisation == ["se-presenter", "telephoner"]
    csv_response = client.get("/modeles/offres.csv")
    assert csv_response.data.startswith("\ufeff".encode()) and b"Nom de l'offre" in csv_response.data
    yaml_response = client.get("/modeles/correspondance.yaml")
    assert b"colonnes:" in yaml_response.data
    assert client.get("/modeles/autre.xlsx").status_code == 404
