"""The filter counts' tallies (search/tallies.py, counted by numpy) equal those of
the plain SQL way (every key id of the result set unnested and grouped), on varied
searches: the counts shown beside the filters are unchanged."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from search import postgres
from search.facet_counts import ALL_PUBLICS, click_counts
from search.params import query_from_args
from search.postgres import PostgresBackend

LAON = "02408"


def reference_tallies(session, union: str, params: dict, inside_keys: list[str], marker: str) -> dict:
    """The tallies in SQL alone, row by row (the way before search/tallies.py)."""
    params.update(inside_keys=list(inside_keys), marker=marker)
    row = session.execute(text(f"""
        WITH base AS ({union}),
        t AS (
            SELECT b.facet_keys,
                   coalesce(b.facet_keys && ARRAY(SELECT id FROM search_key
                                                  WHERE key = ANY(CAST(:inside_keys AS text[]))), false) AS inside,
                   coalesce((SELECT id FROM search_key WHERE key = :marker) = ANY(b.facet_keys), false) AS marked
            FROM base b
        ),
        k AS (
            SELECT u.id, count(*) FILTER (WHERE inside) AS i, count(*) FILTER (WHERE NOT inside) AS o,
                   count(*) FILTER (WHERE inside AND marked) AS im, count(*) FILTER (WHERE NOT inside AND marked) AS om
            FROM t, unnest(t.facet_keys) AS u(id) GROUP BY u.id
        )
        SELECT (SELECT json_agg(json_build_array(sk.key, k.i, k.o, k.im, k.om))
                FROM k JOIN search_key sk ON sk.id = k.id) AS keys,
               (SELECT json_build_array(count(*) FILTER (WHERE inside), count(*) FILTER (WHERE NOT inside),
                                        count(*) FILTER (WHERE inside AND marked),
                                        count(*) FILTER (WHERE NOT inside AND marked)) FROM t) AS totals
    """), params).one()
    return {"keys": {r[0]: tuple(int(x) for x in r[1:]) for r in row.keys or []},
            "totals": tuple(int(x) for x in row.totals)}


@pytest.fixture
def catalogue(factories, db):
    f = factories
    rows = [
        (["femmes"], ["mobilite--preparer-un-permis"], "gratuit"),
        (["tous-publics"], ["mobilite--entretenir-reparer-son-vehicule"], "payant"),
        (["jeunes"], ["numerique--maitriser-les-fondamentaux-du-numerique"], "gratuit"),
        (["femmes", "tous-publics"], ["sante--acces-aux-soins"], "gratuit"),
        (["familles"], ["famille--garde-denfants"], "payant"),
        (["jeunes", "femmes"], ["mobilite--preparer-un-permis", "sante--acces-aux-soins"], "gratuit"),
        (["seniors"], [], "payant"),
    ]
    for i, (publics, thematiques, frais) in enumerate(rows):
        f.ServiceFactory(nom=f"Permis et santé {i}", publics=publics, thematiques=thematiques,
                         frais=frais, zone_eligibilite=[LAON])
    db.flush()


SEARCHES = [
    {},
    {"code_commune": LAON},
    {"code_commune": LAON, "publics": "femmes"},
    {"code_commune": LAON, "thematiques": "mobilite"},
    {"code_commune": LAON, "thematiques": ["mobilite", "sante"], "frais": "gratuit"},
    {"code_commune": LAON, "publics": ["jeunes", "familles"], "frais": "payant"},
    {"code_commune": LAON, "q": "permis"},
    {"q": "santé", "publics": "femmes"},
    {"code_commune": LAON, "thematiques": "logement"},
]


@pytest.mark.parametrize("args", SEARCHES)
def test_the_tallies_and_counts_equal_the_plain_sql_ones(db, catalogue, monkeypatch, args):
    query = query_from_args(MultiDict(args))
    backend = PostgresBackend(db)
    inside = [k for group in postgres.filter_keys(query).values() for k in group]
    counted = backend.key_tallies(query, inside, ALL_PUBLICS)
    counts = click_counts(backend, query)
    monkeypatch.setattr(postgres, "tallies_of", reference_tallies)
    assert counted == backend.key_tallies(query, inside, ALL_PUBLICS)
    assert counts == click_counts(backend, query)
    if args.get("thematiques") != "logement":
        assert counted["totals"][0] + counted["totals"][1] > 0


@pytest.mark.parametrize("args", [a for a in SEARCHES if set(a) & set(postgres.KEY_FILTER_FIELDS)])
def test_the_search_as_it_is_is_the_rows_inside_its_filter(db, catalogue, args):
    """What click_counts reads instead of counting the search as it is: the rows of the
    search without a filter that are inside it."""
    query = query_from_args(MultiDict(args))
    backend = PostgresBackend(db)
    as_is = backend.key_tallies(query, [], ALL_PUBLICS)
    for field, keys in postgres.filter_keys(query).items():
        without = backend.key_tallies(replace(query, **{field: ()}), sorted(keys), ALL_PUBLICS)
        assert {k: (0, t[0], 0, t[2]) for k, t in without["keys"].items() if t[0]} == as_is["keys"]
        assert (0, without["totals"][0], 0, without["totals"][2]) == as_is["totals"]
