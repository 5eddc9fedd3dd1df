"""The Meilisearch engine without a server: settings, filter and sort translation."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from search.contract import SearchQuery, Sort
from search.errors import InvalidQuery, UnsupportedFilter
from search.meilisearch_ import index_settings, search_params, to_filter, to_sort
from search.queries import Place

LAON = Place("02408", ("02408", "200043495", "02", "france"), (3.6244, 49.5641))


def test_settings():
    s = index_settings()
    assert s["searchableAttributes"][:2] == ["nom", "structure_nom"]
    assert s["searchableAttributes"][-1] == "description"
    for attr in ("zone_codes", "zone_vide", "a_distance", "_geo", "thematiques", "publics", "duplicate"):
        assert attr in s["filterableAttributes"]
    assert "_geo" in s["sortableAttributes"] and "fraicheur" in s["sortableAttributes"]
    assert s["rankingRules"].index("sort") > s["rankingRules"].index("attribute")
    assert "garde d enfants" in s["synonyms"]["nounou"]
    assert s["typoTolerance"]["enabled"] is True


def test_default_query_hides_duplicates_only():
    assert to_filter(SearchQuery()) == ["duplicate = false"]
    assert to_filter(SearchQuery(hide_duplicates=False)) == []


def test_place_gives_eligibility_and_reach():
    out = to_filter(SearchQuery(radius_km=10), place=LAON)
    assert '(zone_vide = true OR zone_codes IN ["02408", "200043495", "02", "france"])' in out
    assert "(a_distance = true OR _geoRadius(49.5641, 3.6244, 10000))" in out


def test_thematiques_expand_categories_and_groups():
    (expr,) = to_filter(SearchQuery(thematiques=("mobilite",), hide_duplicates=False))
    assert expr.startswith("thematiques IN [") and '"mobilite--preparer-un-permis"' in expr
    (expr,) = to_filter(SearchQuery(thematiques=("logement",), hide_duplicates=False))
    assert '"logement-hebergement--louer-un-logement"' in expr
    with pytest.raises(InvalidQuery):
        to_filter(SearchQuery(thematiques=("nope",)))


def test_publics_include_tous_publics():
    assert to_filter(SearchQuery(publics=("jeunes",), hide_duplicates=False)) == [
        'publics IN ["jeunes", "tous-publics"]'
    ]


def test_simple_fields_and_structure_and_territory():
    sid = uuid.uuid4()
    out = to_filter(
        SearchQuery(frais=("gratuit",), types=("atelier", "formation"), modes_accueil=("a-distance",),
                    mobilisable_par=("usagers",), sources=("dora",), structure=sid, hide_duplicates=False),
        territory=(["02408"], ["02408", "02"]),
    )
    assert out == [
        'frais IN ["gratuit"]',
        'type IN ["atelier", "formation"]',
        'modes_accueil IN ["a-distance"]',
        'mobilisable_par IN ["usagers"]',
        'source IN ["dora"]',
        f'structure_id = "{sid}"',
        '(code_insee IN ["02408"] OR zone_codes IN ["02408", "02"])',
    ]


def test_values_are_quoted():
    (expr,) = to_filter(SearchQuery(sources=('a"b',), hide_duplicates=False))
    assert expr == 'source IN ["a\\"b"]'


@pytest.mark.parametrize(
    "query",
    [SearchQuery(open_at=datetime(2026, 1, 5, 10)), SearchQuery(cursor="x"), SearchQuery(published_only=False)],
)
def test_unsupported_filters_raise(query):
    with pytest.raises(UnsupportedFilter):
        to_filter(query)


def test_sorts():
    assert to_sort(SearchQuery(), None) == []
    assert to_sort(SearchQuery(), LAON) == ["_geoPoint(49.5641, 3.6244):asc"]
    assert to_sort(SearchQuery(sort=Sort.DISTANCE), LAON) == ["_geoPoint(49.5641, 3.6244):asc"]
    assert to_sort(SearchQuery(sort=Sort.FRAICHEUR), None) == ["fraicheur:desc"]
    with pytest.raises(InvalidQuery):
        to_sort(SearchQuery(sort=Sort.DISTANCE), None)


def test_search_params_pages_and_facets():
    p = search_params(SearchQuery(page=3, size=25), None)
    assert p["page"] == 3 and p["hitsPerPage"] == 25
    assert set(p["facets"]) == {"thematiques_spie", "categories", "thematiques", "publics", "frais", "type",
                                "modes_accueil", "source"}
