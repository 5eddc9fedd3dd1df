"""Eligibility expansion (commune -> covering codes) and how zone codes are typed."""

import pytest
from sqlalchemy import text

from geo.eligibility import covering_codes, departement_covering_codes
from geo.errors import UnknownCode, ZoneError
from geo.zones import kind_of, normalise_zone


def test_commune_inside_an_epci(db):
    # Château-Thierry: itself, the CA de la Région de Château-Thierry, the Aisne, France.
    assert covering_codes(db, "02168") == ["02168", "200072031", "02", "france"]


def test_lyon_arrondissement_is_covered_by_what_covers_lyon(db):
    assert covering_codes(db, "69381") == ["69381", "69123", "200046977", "69", "france"]
    assert covering_codes(db, "69123") == ["69123", "200046977", "69", "france"]


def test_paris_and_marseille_arrondissements(db):
    assert covering_codes(db, "75115")[:2] == ["75115", "75056"]
    assert covering_codes(db, "13201")[:2] == ["13201", "13055"]
    assert "75" in covering_codes(db, "75115")


def test_corsica_and_overseas(db):
    assert covering_codes(db, "2A004")[-2:] == ["2A", "france"]  # Ajaccio
    assert covering_codes(db, "97411")[-2:] == ["974", "france"]  # Saint-Denis (La Réunion)


def test_unknown_commune(db):
    with pytest.raises(UnknownCode, match="99999"):
        covering_codes(db, "99999")


def test_codes_covering_part_of_a_departement(db):
    aisne = departement_covering_codes(db, "02")
    assert {"02", "france", "99100", "02168", "02408", "200072031"} <= aisne
    # An EPCI across two départements (Aisne and Somme) covers part of each.
    assert db.execute(text(
        "SELECT array_agg(DISTINCT departement_code ORDER BY departement_code) FROM geo_commune "
        "WHERE epci_code = '200070985'"
    )).scalar() == ["02", "80"]
    assert "200070985" in aisne and "200070985" in departement_covering_codes(db, "80")
    assert not {"59", "59350", "75056", "200093201"} & aisne
    # Paris: its arrondissements and the commune they belong to.
    assert {"75", "75056", "75115"} <= departement_covering_codes(db, "75")


def test_unknown_departement(db):
    with pytest.raises(UnknownCode, match="00"):
        departement_covering_codes(db, "00")


def test_codes_are_typed_by_shape():
    assert kind_of("02168") == kind_of("2A004") == kind_of("2a004") == "commune"
    assert kind_of("02") == kind_of("2A") == kind_of("974") == kind_of("53") == "departement"
    assert kind_of("200072031") == "epci"
    assert kind_of("region:53") == kind_of("R53") == kind_of("r53") == "region"
    assert kind_of("france") == kind_of("99100") == kind_of("France") == "france"
    with pytest.raises(ZoneError, match="non reconnu"):
        kind_of("5")
    with pytest.raises(ZoneError):
        kind_of("Bretagne")


def test_region_53_and_departement_53_are_never_confused(db):
    # A bare 53 is the département of Mayenne; the région Bretagne is written region:53
    # and stored as its départements.
    assert normalise_zone(db, ["53"]) == ["53"]
    assert normalise_zone(db, ["region:53"]) == ["22", "29", "35", "56"]
    assert normalise_zone(db, ["R53"]) == ["22", "29", "35", "56"]
    assert "53" not in normalise_zone(db, ["region:53"])
    # Mayenne lies in the région Pays de la Loire (52).
    assert "53" in normalise_zone(db, ["region:52"])


def test_zone_is_written_normalised(db):
    assert normalise_zone(db, [" 02168 ", "200072031", "2a", "99100", "02168", "france"]) == [
        "02168", "200072031", "2A", "france",
    ]


def test_unknown_codes_in_a_zone(db):
    with pytest.raises(UnknownCode, match="commune inconnue"):
        normalise_zone(db, ["02999"])
    with pytest.raises(UnknownCode, match="EPCI"):
        normalise_zone(db, ["123456789"])
    with pytest.raises(UnknownCode, match="région"):
        normalise_zone(db, ["region:99"])
    with pytest.raises(ZoneError):
        normalise_zone(db, ["n'importe quoi"])


def test_a_service_zone_covers_the_commune(db):
    # A zone holding the EPCI, the département, a région written as its départements,
    # or "france" covers Château-Thierry; one naming another EPCI does not.
    covering = set(covering_codes(db, "02168"))
    for zone in (["200072031"], ["02"], ["region:32"], ["france"], ["02168"]):
        assert covering & set(normalise_zone(db, zone)), zone
    assert not covering & set(normalise_zone(db, ["200043495", "53", "region:53"]))
