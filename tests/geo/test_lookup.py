"""Commune lookup by name prefix, postal code and INSEE code."""

import pytest

from geo.lookup import commune_of, find_communes, search_communes


def codes(db, q, **kw):
    return [m.code for m in find_communes(db, q, **kw)]


@pytest.mark.parametrize("q", ["chateau thierry", "Château-Thierry", "CHATEAU-THIERRY", "chateau thi", "02400", "02168"])
def test_chateau_thierry_is_found_first(db, q):
    assert codes(db, q)[0] == "02168"


def test_postal_code_lists_its_communes_by_population(db):
    found = [m for m in find_communes(db, "02400", limit=50) if m.code != "02400"]
    assert len(found) > 20 and all("02400" in m.codes_postaux for m in found)
    populations = [m.population for m in found]
    assert populations == sorted(populations, reverse=True)


def test_insee_code_that_is_also_a_postal_code_elsewhere(db):
    # 02400 is the INSEE code of Laffaux (postal code 02880) and the postal code of
    # Château-Thierry: the communes of the postal code first, Laffaux after them.
    found = codes(db, "02400", limit=50)
    assert found[0] == "02168" and "02400" in found


def test_postal_code_prefix(db):
    found = find_communes(db, "024", limit=50)
    assert found and all(any(p.startswith("024") for p in m.codes_postaux) for m in found)
    assert found[0].code == "02168"


@pytest.mark.parametrize("q", ["st quentin", "saint quentin", "Saint-Quentin", "ST-QUENTIN", "st-quentin"])
def test_saint_and_st(db, q):
    assert codes(db, q)[0] == "02691"  # Saint-Quentin (Aisne), the most populated


def test_beginning_of_saint_finds_the_st_names(db):
    found = find_communes(db, "sai", limit=20)
    assert any(m.nom.startswith("Saint-") for m in found)
    assert codes(db, "saint q")[0] == "02691"


def test_sainte_and_ste(db):
    assert codes(db, "ste menehould") == codes(db, "sainte-menehould") == codes(db, "st menehould")
    assert codes(db, "ste menehould")[0] == "51507"


@pytest.mark.parametrize("q", ["l abergement", "L'Abergement", "l'abergement", "abergement"])
def test_apostrophes_and_articles(db, q):
    found = find_communes(db, q, limit=20)
    assert "01001" in [m.code for m in found]  # L'Abergement-Clémenciat


def test_a_typed_article_must_be_the_communes_own(db):
    found = find_communes(db, "l abergement", limit=50)
    assert found and all(m.nom.startswith("L'Abergement") for m in found)
    # Without the article, the article-less names are found too.
    assert {"01001", "01002"} <= set(codes(db, "abergement", limit=50))
    la_fere = codes(db, "la fere")
    assert la_fere[0] == "02304" and not {"02305", "51248"} & set(la_fere)  # not Fère-en-Tardenois
    assert {"02304", "02305", "51248"} <= set(codes(db, "fere", limit=50))
    assert codes(db, "le havre")[0] == codes(db, "havre")[0] == "76351"


def test_equal_matches_are_ranked_by_population(db):
    found = find_communes(db, "saint denis", limit=10)
    # Saint-Denis de La Réunion, then Saint-Denis (Seine-Saint-Denis), then the small ones.
    assert [m.code for m in found[:2]] == ["97411", "93066"]
    exact = [m for m in found if m.nom == "Saint-Denis"]
    assert [m.population for m in exact] == sorted((m.population for m in exact), reverse=True)


def test_whole_name_first(db):
    # "Laon" before larger communes whose names begin with "laon…" (none) or "lao…".
    assert codes(db, "laon")[0] == "02408"
    assert codes(db, "paris")[0] == "75056"


def test_arrondissements(db):
    found = codes(db, "69003")
    assert found[:2] == ["69123", "69383"]  # Lyon, then Lyon 3e Arrondissement
    assert codes(db, "lyon 3")[0] == "69383"
    assert commune_of(db, "69383") == "69123"
    assert commune_of(db, "02168") == "02168"
    assert commune_of(db, "99999") is None
    # Former communes only when asked for.
    assert "COMD" not in {m.type for m in find_communes(db, "aurseulles", limit=50)}


def test_departement_filter_and_limit(db):
    found = find_communes(db, "saint", limit=5, departement="02")
    assert len(found) == 5 and all(m.departement_code == "02" for m in found)
    assert len(find_communes(db, "s", limit=500)) == 50


@pytest.mark.parametrize("q", ["", "   ", "'-", "zzzzqx", "%", "_"])
def test_nothing_found(db, q):
    assert find_communes(db, q) == []


def test_fields_and_dict_shape(db):
    (m,) = find_communes(db, "02168")
    assert m.label == "Château-Thierry (code commune 02168)"
    assert m.departement_nom == "Aisne" and m.region_nom == "Hauts-de-France"
    assert "Château-Thierry" in m.epci_nom
    assert 3.3 < m.lon < 3.5 and 49.0 < m.lat < 49.1
    d = search_communes(db, "02168")[0]
    assert d["departement"] == {"code": "02", "nom": "Aisne"}
    assert d["centre"]["longitude"] == m.lon and d["codes_postaux"] == ["02400"]


def test_five_digits_find_the_insee_commune_whatever_the_limit(db):
    # 76540 is Rouen's INSEE code and the postal code of a dozen communes around
    # Valmont: with a limit of 3, Rouen is still there, and says why.
    found = find_communes(db, "76540", limit=3)
    assert len(found) == 3
    rouen = [m for m in found if m.code == "76540"]
    assert rouen and rouen[0].nom == "Rouen" and rouen[0].matched == "code_commune"
    assert found[-1].code == "76540"  # forms: the postal matches first
    assert all(m.matched == "code_postal" and "76540" in m.codes_postaux for m in found[:-1])


def test_api_puts_the_insee_commune_first_and_labels_each_match(db):
    items = search_communes(db, "76540", 5)
    assert items[0]["code"] == "76540"
    assert items[0]["correspondance"] == {"type": "code_commune", "libelle": "code commune 76540"}
    assert all(i["correspondance"] == {"type": "code_postal", "libelle": "code postal 76540"} for i in items[1:])


def test_label_says_what_matched(db):
    # 02100 is Saint-Quentin's postal code and the INSEE code of Bony (postal code
    # 02420): Bony is labelled by its code commune, never as « 02420 » for « 02100 ».
    found = {m.code: m for m in find_communes(db, "02100", limit=50)}
    assert found["02100"].label == "Bony (code commune 02100)"
    assert found["02691"].label == "Saint-Quentin (02100)"


def test_postal_label_shows_the_postal_code_typed(db):
    # Rouen has two postal codes (76000, 76100): the one typed is the one shown.
    found = find_communes(db, "76100", limit=5)
    assert found[0].code == "76540" and found[0].matched == "code_postal"
    assert found[0].label == "Rouen (76100)"
    assert find_communes(db, "761", limit=5)[0].label == "Rouen (76100)"
