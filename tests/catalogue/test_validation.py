"""Point 4 of the foundation: each bad input is refused, naming the field and the reason."""

import pytest

from catalogue import writes
from catalogue.errors import ValidationError

GOOD = {
    "nom": "Atelier permis de conduire",
    "thematiques": ["mobilite--preparer-un-permis"],
    "publics": ["jeunes"],
    "code_insee": "02408",
    "horaires_accueil": "Mo-Fr 09:00-12:00; PH off",
    "longitude": 3.62,
    "latitude": 49.56,
    "zone_eligibilite": ["02"],
}


def refused(db, structure, **changes):
    with pytest.raises(ValidationError) as info:
        writes.create_service(db, structure, {**GOOD, **changes})
    return info.value.errors


def test_good_service_is_accepted_and_located(db, factories):
    structure = factories.StructureFactory()
    service = writes.create_service(db, structure, GOOD)
    assert service.location_precision == "source"
    assert service.zone_eligibilite == ["02"]


def test_unknown_thematique(db, factories):
    errors = refused(db, factories.StructureFactory(), thematiques=["mobilite--teleportation"])
    assert errors == {"thematiques": ["thématique inconnue : mobilite--teleportation"]}


@pytest.mark.parametrize("code", ["2408", "ABCDE", "024080"])
def test_malformed_insee_code(db, factories, code):
    errors = refused(db, factories.StructureFactory(), code_insee=code)
    assert list(errors) == ["code_insee"]
    assert "code INSEE" in errors["code_insee"][0]


def test_unknown_insee_code(db, factories):
    # Nothing places it: no point, no postal code.
    errors = refused(db, factories.StructureFactory(), code_insee="02999", longitude=None, latitude=None)
    assert errors == {"code_insee": ["commune inconnue : 02999 (ce code n'est pas celui d'une commune ; "
                                     "pas de code postal)"]}


def test_unknown_insee_code_placed_by_its_point(db, factories):
    repairs: list[str] = []
    service = writes.create_service(db, factories.StructureFactory(), {**GOOD, "code_insee": "02999"},
                                    repairs=repairs)
    assert (service.code_insee, service.commune) == ("02408", "Laon")
    assert repairs == ["code commune 02999 → 02408 (Laon) d'après les coordonnées"]


def test_malformed_opening_hours(db, factories):
    errors = refused(db, factories.StructureFactory(), horaires_accueil="Mo-Fr 25:00")
    assert list(errors) == ["horaires_accueil"]
    assert "OpenStreetMap" in errors["horaires_accueil"][0]
    assert "position 7" in errors["horaires_accueil"][0]


def test_point_outside_france(db, factories):
    errors = refused(db, factories.StructureFactory(), longitude=-74.0, latitude=40.7)
    assert list(errors) == ["longitude"]
    assert "hors de France" in errors["longitude"][0]


def test_tous_publics_mixed_with_others(db, factories):
    errors = refused(db, factories.StructureFactory(), publics=["tous-publics", "jeunes"])
    assert list(errors) == ["publics"]
    assert "tous-publics" in errors["publics"][0]


def test_unknown_zone_code(db, factories):
    errors = refused(db, factories.StructureFactory(), zone_eligibilite=["99999"])
    assert list(errors) == ["zone_eligibilite"]
    assert "99999" in errors["zone_eligibilite"][0]


def test_region_in_zone_is_written_as_its_departements(db, factories):
    service = writes.create_service(
        db, factories.StructureFactory(), {**GOOD, "zone_eligibilite": ["region:32"]}
    )
    assert sorted(service.zone_eligibilite) == ["02", "59", "60", "62", "80"]


def test_refused_input_changes_nothing(db, factories):
    from sqlalchemy import func, select

    from catalogue.models import Service

    structure = factories.StructureFactory()
    before = db.scalar(select(func.count()).select_from(Service))
    refused(db, structure, publics=["tous-publics", "jeunes"])
    assert db.scalar(select(func.count()).select_from(Service)) == before
