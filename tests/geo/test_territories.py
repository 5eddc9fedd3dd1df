"""Territories: named sets of communes with their union boundary."""

import json

import pytest
from shapely import wkb
from sqlalchemy import text

from geo import territories as t
from geo.errors import TerritoryError, TerritoryExists

# GrandSoissons, CA de la Région de Château-Thierry, CA Chauny-Tergnier-La Fère.
THREE_EPCI = ("240200477", "200072031", "200071785")


def _members(db, epci):
    return set(db.scalars(text("SELECT code FROM geo_commune WHERE epci_code = :e AND type = 'COM'"), {"e": epci}))


def test_territory_of_three_epci_has_a_valid_union_boundary(db):
    territory = t.save_territory(db, "Sud de l'Aisne", THREE_EPCI)
    expected = set().union(*(_members(db, e) for e in THREE_EPCI))
    assert territory.slug == "sud-de-l-aisne" and set(territory.communes) == expected
    row = db.execute(text(
        """
        SELECT ST_IsValid(t.contour) AS valid, GeometryType(t.contour) AS kind, ST_SRID(t.contour) AS srid,
               ST_Area(t.contour::geography) AS area,
               (SELECT sum(ST_Area(c.contour::geography)) FROM geo_commune c WHERE c.code = ANY(t.communes)) AS parts,
               (SELECT bool_and(ST_Covers(t.contour, c.centre::geometry)) FROM geo_commune c
                WHERE c.code = ANY(t.communes)) AS covers_centres
        FROM geo_territory t WHERE t.slug = 'sud-de-l-aisne'
        """
    )).one()
    assert row.valid and row.kind == "MULTIPOLYGON" and row.srid == 4326
    # The union covers its communes and no more than them (adjacent boundaries merge).
    assert row.area == pytest.approx(row.parts, rel=0.01)
    assert row.covers_centres
    # Soissons and Château-Thierry are apart (a CC lies between): several polygons.
    assert db.scalar(text("SELECT ST_NumGeometries(contour) FROM geo_territory WHERE slug = 'sud-de-l-aisne'")) >= 2


def test_members_by_insee_code_name_and_epci_name(db):
    territory = t.save_territory(
        db, "Mélange", ["02408", "Chauny", "soissons", "GrandSoissons", "Château-Thierry"], departement="02"
    )
    assert {"02408", "02173", "02722", "02168"} <= set(territory.communes)
    assert _members(db, "240200477") <= set(territory.communes)
    # A former commune stands for its commune now; an arrondissement stays itself.
    assert t.resolve_members(db, ["69381"]) == ["69381"]


def test_departement_member(db):
    aisne = t.save_territory(db, "Aisne", ["02"])
    assert len(aisne.communes) == db.scalar(
        text("SELECT count(*) FROM geo_commune WHERE departement_code = '02' AND type = 'COM'")
    )


@pytest.mark.parametrize(
    "members, message",
    [
        (["Saint-Denis"], "plusieurs communes s'appellent « Saint-Denis »"),
        (["Nulle-part-sur-Rien"], "aucune commune ni aucun EPCI"),
        (["02999"], "commune inconnue « 02999 »"),
        (["123456789"], "EPCI inconnu"),
        (["99"], "département inconnu"),
        ([], "au moins une commune"),
        (["  ", "'"], "ni un code ni un nom"),
        (["Communauté de communes"], "plusieurs EPCI"),
    ],
)
def test_bad_members_are_named(db, members, message):
    with pytest.raises(TerritoryError, match=message):
        t.save_territory(db, "Essai", members)


def test_homonym_resolved_by_departement(db):
    assert t.resolve_members(db, ["Saint-Denis"], departement="93") == ["93066"]


def test_slug_taken_and_replace(db):
    t.save_territory(db, "Laon", ["02408"])
    with pytest.raises(TerritoryExists, match="existe déjà"):
        t.save_territory(db, "Laon", ["200043495"])
    again = t.save_territory(db, "Laon et environs", ["200043495"], slug="laon", replace=True)
    assert again.nom == "Laon et environs" and len(again.communes) > 30
    with pytest.raises(TerritoryError, match="identifiant"):
        t.save_territory(db, "Essai", ["02408"], slug="Pas Bon!")
    with pytest.raises(TerritoryError, match="nom : obligatoire"):
        t.save_territory(db, " ", ["02408"])


def test_aisne_cohorts(db):
    made = {x.slug: x for x in t.create_aisne_cohorts(db)}
    assert set(made) == {"laon", "soissons-chateau-thierry", "la-fere-chauny-tergnier"}
    assert "02408" in made["laon"].communes
    assert {"02722", "02168"} <= set(made["soissons-chateau-thierry"].communes)
    assert {"02304", "02173", "02738"} <= set(made["la-fere-chauny-tergnier"].communes)  # La Fère, Chauny, Tergnier
    # Idempotent.
    again = t.create_aisne_cohorts(db)
    assert [x.communes for x in again] == [made[s].communes for s, _, _ in t.AISNE_SPIE_COHORTS]
    listed = {s.slug: s for s in t.list_territories(db)}
    assert listed["laon"].nombre_communes == len(made["laon"].communes)
    assert 200 < listed["laon"].area_km2 < 500 and listed["laon"].population > 40_000


def test_whole_departement_geojson_is_small_and_valid(db):
    t.save_territory(db, "Aisne", ["02"])
    geometry = t.territory_geojson(db, "aisne")
    size = t.geojson_size(geometry)
    assert size < 200 * 1024
    assert geometry["type"] == "MultiPolygon"
    # Valid once read back, and close to the stored boundary (Aisne: about 7,400 km²).
    area, valid, hausdorff = db.execute(text(
        "SELECT ST_Area(g::geography), ST_IsValid(g), "
        "ST_HausdorffDistance(ST_Transform(g, 2154), (SELECT ST_Transform(contour, 2154) FROM geo_territory WHERE slug = 'aisne')) "
        "FROM ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326) AS g"
    ), {"g": json.dumps(geometry)}).one()
    assert valid and 7_000e6 < area < 7_800e6
    assert hausdorff < 2 * t.DISPLAY_TOLERANCE_M
    # Coordinates are rounded for display.
    first = geometry["coordinates"][0][0][0]
    assert all(len(str(v).split(".")[1]) <= 5 for v in first)
    # A coarser tolerance gives a smaller outline.
    assert t.geojson_size(t.territory_geojson(db, "aisne", 1000)) < size
    assert t.territory_geojson(db, "inconnu") is None


def test_cli_create_list_show(db, cli):
    created = cli("territory", "create", "Soissons / Château-Thierry", "240200477", "200072031")
    assert created.exit_code == 0, created.output
    assert "« Soissons / Château-Thierry » (soissons-chateau-thierry) enregistré" in created.output
    again = cli("territory", "create", "Soissons / Château-Thierry", "240200477")
    assert again.exit_code != 0 and "existe déjà (--replace pour le redéfinir)" in again.output
    replaced = cli("territory", "create", "Soissons / Château-Thierry", "240200477", "--replace")
    assert replaced.exit_code == 0, replaced.output
    bad = cli("territory", "create", "Essai", "Saint-Denis")
    assert bad.exit_code != 0 and "plusieurs communes" in bad.output and "Traceback" not in bad.output
    listed = cli("territory", "list")
    assert listed.exit_code == 0 and "soissons-chateau-thierry — Soissons / Château-Thierry :" in listed.output
    shown = cli("territory", "show", "soissons-chateau-thierry")
    assert shown.exit_code == 0 and "02722 Soissons" in shown.output
    geojson = cli("territory", "show", "soissons-chateau-thierry", "--geojson")
    assert json.loads(geojson.output)["type"] == "MultiPolygon"
    missing = cli("territory", "show", "inconnu")
    assert missing.exit_code != 0 and "aucun territoire" in missing.output
    cohorts = cli("territory", "aisne-cohorts")
    assert cohorts.exit_code == 0 and "La Fère / Chauny / Tergnier" in cohorts.output


def test_stored_boundary_matches_geometry_library(db):
    territory = t.save_territory(db, "Laon", ["200043495"])
    raw = db.scalar(text("SELECT ST_AsBinary(contour) FROM geo_territory WHERE id = :i"), {"i": territory.id})
    assert wkb.loads(bytes(raw)).is_valid


def test_api_serves_territories_with_their_simplified_boundary(db, client):
    t.create_aisne_cohorts(db)
    listed = client.get("/api/v1/territoires").json["items"]
    assert {x["slug"] for x in listed} >= {"laon", "soissons-chateau-thierry", "la-fere-chauny-tergnier"}
    r = client.get("/api/v1/territoires/la-fere-chauny-tergnier")
    assert r.status_code == 200
    assert r.json["nom"] == "La Fère / Chauny / Tergnier"
    assert {"code": "02304", "nom": "La Fère"} in r.json["communes"]
    assert r.json["contour"]["type"] == "MultiPolygon" and len(r.data) < 200 * 1024
    # A territory written in SQL without its boundary gets the union of its communes.
    db.execute(text("INSERT INTO geo_territory (slug, nom, communes) VALUES ('a-la-main', 'À la main', '{02408,02173}')"))
    assert client.get("/api/v1/territoires/a-la-main").json["contour"]["type"] == "MultiPolygon"
    assert client.get("/api/v1/territoires/inconnu").status_code == 404


def test_api_commune_lookup_is_the_geo_lookup(client):
    items = client.get("/api/v1/communes?q=havre").json["items"]
    assert items[0]["code"] == "76351" and items[0]["nom"] == "Le Havre"
    assert client.get("/api/v1/communes?q=chateau thierry").json["items"][0]["code"] == "02168"


def test_demo_load_creates_the_aisne_cohorts_and_keeps_edited_ones(db, cli):
    t.save_territory(db, "Laon (redéfini)", ["02408"], slug="laon")
    result = cli("demo", "load", "--structures", "5", "--services", "10")
    assert result.exit_code == 0, result.output
    assert "Territoires des cohortes SPIE : Laon (redéfini), Soissons / Château-Thierry" in result.output
    assert t.get_territory(db, "laon").communes == ["02408"]
    assert "02304" in t.get_territory(db, "la-fere-chauny-tergnier").communes


def test_basemap_of_a_departement_has_its_outline_and_its_epcis(db):
    from geo.territories import basemap_geojson, geojson_size

    base = basemap_geojson(db, "02")
    kinds = [f["properties"]["kind"] for f in base["features"]]
    assert kinds.count("departement") == 1 and kinds.count("epci") >= 15
    aisne = next(f for f in base["features"] if f["properties"]["kind"] == "departement")
    assert aisne["properties"]["nom"] == "Aisne"
    assert any("Pays de Laon" in f["properties"]["nom"] for f in base["features"])
    # Light enough to go with every map of a page.
    assert geojson_size(base) < 120_000
    assert basemap_geojson(db, "00") is None
