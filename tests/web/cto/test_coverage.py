"""Coverage gaps: a territory where mobility has no on-site offer within 30 km
for some communes; the gap table, the map and the CSV show exactly those."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from catalogue import coverage
from catalogue.models import Status
from tests.auth_helpers import make_user
from tests.static_names import static_url
from tests.web.cto.conftest import log_in, make_territory

LAON = "02408"
LAON_POINT = (3.6244, 49.5641)  # the factories' default place


def _communes_by_distance(db):
    """Communes of the Aisne with their geodesic distance (km) from the Laon point,
    leaving out those within 2 km of the 30 km limit (planar vs geodesic)."""
    rows = db.execute(
        text(
            """
            SELECT code, ST_Distance(centre, CAST(ST_SetSRID(ST_MakePoint(:x, :y), 4326) AS geography)) / 1000 AS km
            FROM geo_commune WHERE departement_code = '02' AND type = 'COM' AND centre IS NOT NULL
            ORDER BY code
            """
        ),
        {"x": LAON_POINT[0], "y": LAON_POINT[1]},
    ).all()
    return {r.code: r.km for r in rows if not 28 <= r.km <= 32}


@pytest.fixture
def territory(db, factories):
    """25 communes within 28 km of Laon and 15 beyond 32 km (up to 70 km), one
    on-site mobility offer in Laon, one remote one, and offers that must not count."""
    km = _communes_by_distance(db)
    near = [c for c, d in sorted(km.items(), key=lambda kv: kv[1]) if d < 28][:25]
    far = [c for c, d in sorted(km.items(), key=lambda kv: kv[1]) if 32 < d < 70][::7][:15]
    assert LAON in near and len(far) == 15
    make_territory(db, "test-laonnois", "Laonnois et alentours", near + far)
    factories.ServiceFactory(nom="Auto-école sociale")  # on site, Laon, mobility, everywhere eligible
    factories.ServiceFactory(nom="Conseil mobilité en ligne", modes_accueil=["a-distance"], location=None)
    # Not counted: other thematic, archived, duplicate, unpublished structure, zone elsewhere.
    factories.ServiceFactory(nom="Logement", thematiques=["logement-hebergement--louer-un-logement"],
                             location="SRID=4326;POINT(3.40 49.85)")
    factories.ServiceFactory(nom="Archivée", status=Status.ARCHIVE, location="SRID=4326;POINT(3.40 49.85)")
    original = factories.ServiceFactory(nom="Original", zone_eligibilite=["60"], location="SRID=4326;POINT(3.40 49.85)")
    factories.ServiceFactory(nom="Doublon", duplicate_of_id=original.id, duplicate_hidden=True,
                             location="SRID=4326;POINT(3.40 49.85)")
    hidden = factories.StructureFactory(status=Status.BROUILLON)
    factories.ServiceFactory(nom="Brouillon", structure=hidden, location="SRID=4326;POINT(3.40 49.85)")
    db.flush()
    return {"near": set(near), "far": set(far), "all": near + far}


def test_gaps_at_30_km_are_exactly_the_far_communes(db, territory):
    result = coverage.coverage(db, coverage.communes_of_territory(db, "test-laonnois"), "mobilite")
    assert len(result.rows) == 40
    assert {r.code for r in result.gaps(30)} == territory["far"]
    laon = next(r for r in result.rows if r.code == LAON)
    assert laon.on_site == {10: 1, 30: 1, 50: 1} and laon.remote == 1 and laon.reachable[30] == 2
    # the remote offer reaches every commune, but does not fill a gap
    assert all(r.remote == 1 and r.reachable[30] >= 1 for r in result.rows)
    assert result.without_any(30) == ()
    assert result.gap_population(30) == sum(r.population for r in result.rows if r.code in territory["far"])
    # an offer for another thematic does not cover mobility; the others are not counted at all
    housing = coverage.coverage(db, territory["all"], "logement-hebergement")
    assert sum(r.on_site[50] for r in housing.rows) > 0
    assert {r.code for r in coverage.coverage(db, territory["all"], "mobilite--preparer-un-permis").gaps(30)} == territory["far"]


def test_zone_restricts_who_is_reached(db, factories, territory):
    # an offer inside the far area but only for the Oise (60): the Aisne communes stay gaps
    far_code = sorted(territory["far"])[0]
    x, y = db.execute(text("SELECT ST_X(centre::geometry), ST_Y(centre::geometry) FROM geo_commune WHERE code = :c"),
                      {"c": far_code}).one()
    factories.ServiceFactory(nom="Oise seulement", zone_eligibilite=["60"], location=f"SRID=4326;POINT({x} {y})")
    db.flush()
    result = coverage.coverage(db, territory["all"], "mobilite")
    assert far_code in {r.code for r in result.gaps(10)}
    factories.ServiceFactory(nom="Aisne", zone_eligibilite=["02"], location=f"SRID=4326;POINT({x} {y})")
    db.flush()
    result = coverage.coverage(db, territory["all"], "mobilite")
    assert far_code not in {r.code for r in result.gaps(10)}


def _gap_codes_on_map(html: str) -> set[str]:
    # the map's JSON description has its properties' keys sorted
    found = re.findall(r'"code": "(\w{5})", "gap": (true|false)', html)
    assert found, "no commune feature in the map script"
    return {code for code, gap in found if gap == "true"}


def test_page_table_map_and_csv_show_exactly_those_communes(db, client, moderator, territory):
    r = client.get("/pilotage/couverture?territoire=test-laonnois&thematique=mobilite&rayon=30")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    table = html.split('id="zones-blanches"', 1)[1].split("</table>", 1)[0]
    assert set(re.findall(r'data-code="(\w{5})"', table)) == territory["far"]
    assert "15 communes sans offre sur place à moins de 30 km" in html
    assert _gap_codes_on_map(html) == territory["far"]
    assert "cdn" not in html.lower() and static_url("vendor/leaflet/leaflet.js") in html
    # the CSV has every commune, with the 30 km gap column
    csv = client.get("/pilotage/couverture.csv?territoire=test-laonnois&thematique=mobilite").get_data(as_text=True)
    lines = [line.split(";") for line in csv.splitlines()[4:]]
    assert len(lines) == 40
    assert {line[0] for line in lines if line[12] == "oui"} == territory["far"]  # "à 30 km"


def test_gap_geojson(db, territory):
    result = coverage.coverage(db, territory["all"], "mobilite")
    features = coverage.gap_geojson(db, result, 30)["features"]
    assert {f["properties"]["code"] for f in features if f["properties"]["gap"]} == territory["far"]
    assert json.dumps(features[0]["geometry"])[:40].startswith('{"type": "')


def test_reserved_to_moderators_and_bad_input(db, client, territory):
    assert client.get("/pilotage/couverture").status_code == 302  # to the login page
    log_in(client, make_user(db, email="pro@example.org"))
    assert client.get("/pilotage/couverture").status_code == 403
    log_in(client, make_user(db, email="admin@example.org", is_admin=True))
    r = client.get("/pilotage/couverture?thematique=inconnue")
    assert r.status_code == 400 and "thematique" in r.get_data(as_text=True)
    assert client.get("/pilotage/couverture?rayon=20").status_code == 400
    assert client.get("/pilotage/couverture?territoire=nulle-part").status_code == 400
    assert client.get("/pilotage/couverture?departement=02&thematique=mobilite&rayon=10").status_code == 200
    assert client.get("/pilotage/couverture?departement=975").status_code == 400
    make_territory(db, "vide", "Territoire vide", [])
    r = client.get("/pilotage/couverture?territoire=vide")
    assert r.status_code == 200 and "0 communes" in r.get_data(as_text=True)


def test_synthesis_by_territory_and_thematic(db, client, moderator, territory):
    table = coverage.matrix(db, {"t": territory["all"], "near": sorted(territory["near"])},
                            ["mobilite", "sante"], 30)
    assert table["t"]["mobilite"]["gap_communes"] == 15 and table["near"]["mobilite"]["gap_communes"] == 0
    assert table["t"]["sante"]["gap_communes"] == 40  # no health offer at all
    far_population = db.scalar(text("SELECT sum(population) FROM geo_commune WHERE code = ANY(:c)"),
                               {"c": sorted(territory["far"])})
    assert table["t"]["mobilite"]["gap_population"] == far_population
    html = client.get("/pilotage/couverture/synthese?rayon=30").get_data(as_text=True)
    row = html.split("Laonnois et alentours", 1)[1].split("</tr>", 1)[0]
    assert "territoire=test-laonnois&thematique=mobilite&rayon=30\">15 communes" in row
    csv = client.get("/pilotage/couverture/synthese.csv?rayon=30").get_data(as_text=True)
    assert "Laonnois et alentours;Mobilité;40;15;" in csv
