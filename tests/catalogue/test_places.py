"""The place rule (catalogue.places): commune code, postal code, commune name and
point agree with the référentiel (the whole of France, real communes)."""

from __future__ import annotations

import pytest

from catalogue import places
from tests.web.api.test_partners import BODY, _token


def resolve(db, **data):
    return places.resolve(db, data)


def test_a_code_that_agrees_is_kept(db):
    outcome = resolve(db, code_insee="02408", code_postal="02000", commune="LAON", longitude=3.6189, latitude=49.5638)
    assert (outcome.code_insee, outcome.code_postal, outcome.commune, outcome.repairs) == (
        "02408", "02000", "LAON", [])


@pytest.mark.parametrize(("given", "point", "expected", "repair"), [
    # A postal code written as the INSEE code: no commune has it...
    ("75003", (2.3628, 48.8637), "75103", "code commune 75003 → 75103 (Paris 3e Arrondissement) d'après les coordonnées"),
    # ...or another commune, far away, has it.
    ("12100", (3.0777, 44.0981), "12145", "code commune 12100 → 12145 (Millau) d'après les coordonnées"),
    # Paris given as the commune: the arrondissement of the point.
    ("75056", (2.3628, 48.8637), "75103", "code commune 75056 → 75103 (Paris 3e Arrondissement) d'après les coordonnées"),
    # Lyon 3e given, the point in the 7e (well away from their border).
    ("69383", (4.8405, 45.7310), "69387", "code commune 69383 → 69387 (Lyon 7e Arrondissement) d'après les coordonnées"),
])
def test_the_point_decides(db, given, point, expected, repair):
    outcome = resolve(db, code_insee=given, longitude=point[0], latitude=point[1])
    assert outcome.code_insee == expected
    assert outcome.repairs[0] == repair


def test_a_point_just_over_the_border_keeps_its_commune(db):
    """Contours are simplified and places sit on borders: within TOLERANCE_M of its
    commune a point agrees with it."""
    from sqlalchemy import text

    # A point 150 m outside Laon's contour, in a neighbouring commune.
    lon, lat, neighbour = db.execute(text(
        "SELECT ST_X(x.p), ST_Y(x.p), c.code FROM (SELECT (ST_DumpPoints(ST_ExteriorRing(ST_GeometryN("
        "ST_Buffer(contour::geography, 150)::geometry, 1)))).geom AS p FROM geo_commune WHERE code = '02408') x "
        "JOIN geo_commune c ON ST_Intersects(c.contour, x.p) AND c.type = 'COM' AND c.code <> '02408' "
        "WHERE NOT ST_Intersects((SELECT contour FROM geo_commune WHERE code = '02408'), x.p) LIMIT 1"
    )).one()
    assert resolve(db, code_insee="02408", longitude=lon, latitude=lat).code_insee == "02408"
    # Without a code, the point's own commune.
    assert resolve(db, longitude=lon, latitude=lat).code_insee == neighbour


def test_a_former_commune_stands_for_the_current_one(db):
    outcome = resolve(db, code_insee="74011", commune="Annecy-le-Vieux", code_postal="74940")
    assert (outcome.code_insee, outcome.commune) == ("74010", "Annecy-le-Vieux")  # a name it answers to
    assert outcome.repairs == ["code commune 74011 → 74010 (Annecy) : ancienne commune (Annecy-le-Vieux) "
                               "rattachée à la commune actuelle"]


@pytest.mark.parametrize(("data", "expected", "how"), [
    # No point: the postal code and the name (accents, case, article, "Saint").
    ({"code_insee": "76600", "code_postal": "76600", "commune": "le havre"}, "76351", "le code postal et le nom"),
    ({"code_insee": "02100", "code_postal": "02100", "commune": "ST QUENTIN"}, "02691", "le code postal et le nom"),
    ({"code_insee": "33000", "code_postal": "33000", "commune": "Bordeaux"}, "33063", "le code postal et le nom"),
    # The postal code alone when it names one commune (an arrondissement counts as one).
    ({"code_insee": "33000", "code_postal": "33000"}, "33063", "le code postal"),
    # A real commune's code (Affoux) that neither the postal code nor the name agree with.
    ({"code_insee": "69003", "code_postal": "69003", "commune": "Lyon"}, "69383", "le code postal et le nom"),
])
def test_without_a_point_the_postal_code_and_the_name_decide(db, data, expected, how):
    outcome = resolve(db, **data)
    assert outcome.code_insee == expected
    assert outcome.repairs[0].endswith(f"d'après {how}" + ("" if how == "le code postal" else " de la commune"))


def test_the_arrondissement_from_the_postal_code(db):
    outcome = resolve(db, code_insee="13055", code_postal="13001", commune="Marseille")
    assert (outcome.code_insee, outcome.commune) == ("13201", "Marseille")
    # A missing code is found without a word (nothing was wrong).
    outcome = resolve(db, code_postal="75011", commune="Paris")
    assert (outcome.code_insee, outcome.repairs) == ("75111", [])


def test_postal_code_and_name_made_to_agree(db):
    outcome = resolve(db, code_insee="02408", code_postal="02100", commune="Soissons")
    assert (outcome.code_insee, outcome.code_postal, outcome.commune) == ("02408", "02000", "Laon")
    assert outcome.repairs == ["code postal 02100 → 02000 (celui de Laon)",
                               "commune « Soissons » → « Laon » (code 02408)"]
    # A commune of several postal codes: a wrong one is removed (a valid code stands
    # against a postal code alone).
    outcome = resolve(db, code_insee="33063", code_postal="33700")
    assert outcome.code_postal is None
    assert outcome.repairs == ["code postal 33700 retiré : ce n'est pas un code postal de Bordeaux"]


def test_refused_only_when_nothing_places_it(db):
    outcome = resolve(db, code_insee="99999", code_postal="99999")
    assert outcome.error == ("commune inconnue : 99999 (ce code n'est pas celui d'une commune ; "
                             "le code postal 99999 ne désigne pas une seule commune)")
    # No code at all: nothing to refuse (a remote service has no place).
    assert resolve(db, code_postal="99999").error is None


def test_the_partner_api_repairs_and_says_so(client, db, factories):
    structure = factories.StructureFactory()
    body = {**BODY, "code_insee": "75003", "code_postal": "75003", "commune": "Paris",
            "longitude": 2.3628, "latitude": 48.8637}
    r = client.put(f"/api/v1/structures/{structure.id}/services/atelier-paris",
                   json=body, headers=_token(db, structure))
    assert r.status_code == 201, r.json
    assert r.json["avertissements"] == [
        "code commune 75003 → 75103 (Paris 3e Arrondissement) d'après les coordonnées"]
    r = client.put(f"/api/v1/structures/{structure.id}/services/atelier-nulle-part",
                   json={**BODY, "code_insee": "99999"}, headers=_token(db, structure))
    assert r.status_code == 400
    assert "commune inconnue : 99999" in r.json["errors"]["code_insee"][0]

