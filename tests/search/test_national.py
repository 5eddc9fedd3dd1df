"""The national remote part of a placed search kept in the search cache
(search/national.py) changes nothing: on a varied catalogue, committed in a
database of its own (a transaction that wrote bypasses the cache), every page,
key tallies and filter counts through a SearchCache equal those of the whole
query, computed then kept (miss) and read again (hit), and the fast path is taken."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from catalogue.db import make_engine, make_sessionmaker
from catalogue.models import Service, Status
from search import national, postgres
from search.cache import SearchCache
from search.contract import SearchQuery, Sort
from search.facet_counts import ALL_PUBLICS, click_counts
from search.postgres import PostgresBackend
from tests import dbsetup
from tests import factories as f
from tests.search.conftest import BARENTON, CHIVY, HIRSON, LAON, LAON_EPCI, REIMS
from tests.search.test_cache import _change
from tests.search.test_grid import _cell, _destination

CENTRE = (3.61231090238698, 49.57078488068103)  # Laon's centre, the searched place of code_commune=LAON
THEMATIQUES = ["mobilite--preparer-un-permis", "mobilite--acceder-a-un-vehicule", "sante--acces-aux-soins",
               "logement-hebergement--louer-un-logement", "numerique--maitriser-les-fondamentaux-du-numerique",
               "famille--garde-denfants", "trouver-un-emploi--repondre-a-des-offres-demploi"]
PUBLICS = ["tous-publics", "femmes", "jeunes", "seniors", "familles"]
NATIONAL_ZONES = [[], ["france"], ["france", "02"]]
LOCAL_ZONES = [["02"], [LAON], [LAON_EPCI], [CHIVY], [BARENTON], ["51"], ["59"]]
MODES = [["a-distance"], ["en-presentiel"], ["a-distance", "en-presentiel"], []]
BOTH = ["a-distance", "en-presentiel"]


def _database(pg_server_url, template_db, label):
    url = dbsetup.create_test_database(pg_server_url, template_db, label=label)
    engine = make_engine(url)
    return url, engine, make_sessionmaker(engine)


def _point(rng, low_m, high_m) -> str:
    lon, lat = _destination(*CENTRE, rng.uniform(0, 360), rng.uniform(low_m, high_m))
    return f"SRID=4326;POINT({lon} {lat})"


def _catalogue(session, rng) -> list[Service]:
    """Services of every reach: national hybrids near and far, national remote ones,
    local ones of every mode; ties of dates and places; some hidden."""
    f.use(session)
    today = date.today()
    structures = [f.StructureFactory() for _ in range(8)]
    made: list[Service] = []
    # places shared by local and national rows: ties of distance (and of score) at the page's edge
    pool = [_point(rng, 500, 20_000) for _ in range(16)]
    for i in range(240):
        if i < 45:  # national, offered on site and remotely, placed: their score depends on the distance
            zone, modes = rng.choice(NATIONAL_ZONES), BOTH
            location = rng.choice(pool) if i < 33 else _point(rng, 20_000, 150_000)
            if i % 11 == 0:  # at the place itself, as some local ones: ties
                location = f"SRID=4326;POINT({CENTRE[0]} {CENTRE[1]})"
        elif i < 110:  # national remote, their score constant (not placed, or not on site)
            zone, modes = rng.choice(NATIONAL_ZONES), rng.choice([["a-distance"], BOTH])
            location = None if modes == BOTH or rng.random() < 0.5 else _point(rng, 500, 20_000)
        else:
            zone, modes = rng.choice(LOCAL_ZONES + NATIONAL_ZONES), rng.choice(MODES)
            location = rng.choice([None, rng.choice(pool), _point(rng, 500, 20_000), _point(rng, 20_000, 80_000),
                                   f"SRID=4326;POINT({CENTRE[0]} {CENTRE[1]})", "SRID=4326;POINT(5.3698 43.2965)"])
        fields = dict(
            structure=rng.choice(structures), zone_eligibilite=zone, modes_accueil=modes, location=location,
            thematiques=rng.sample(THEMATIQUES, rng.randint(1, 2)), publics=rng.sample(PUBLICS, rng.randint(1, 2)),
            frais=rng.choice(["gratuit", "payant", None]), type=rng.choice(["accompagnement", "atelier", "information"]),
            date_maj=today - timedelta(days=rng.choice([0, 0, 3, 30, 30, 200, 700, 2000])),
        )
        if rng.random() < 0.05:
            fields["status"] = Status.BROUILLON
        if made and rng.random() < 0.05:
            fields.update(duplicate_hidden=True, duplicate_of_id=rng.choice(made).id)
        made.append(f.ServiceFactory(**fields))
    session.execute(text("INSERT INTO geo_territory (slug, nom, communes) VALUES ('laonnois', 'Laonnois', :c)"),
                    {"c": [LAON, CHIVY]})
    session.commit()
    return made


@pytest.fixture(scope="module")
def catalogue(pg_server_url, template_db):
    """(sessionmaker, services, a structure's id) of a committed catalogue."""
    url, engine, sessions = _database(pg_server_url, template_db, "national_")
    with sessions() as s:
        made = _catalogue(s, random.Random(22))
        structure = made[0].structure_id
    yield sessions, made, structure
    engine.dispose()
    dbsetup.drop_database(pg_server_url, url)


@pytest.fixture
def taken(monkeypatch):
    """Per call of search.national._page / _tallies: True when it answered (no fallback)."""
    seen: dict[str, list[bool]] = {"_page": [], "_tallies": []}
    for name, calls in seen.items():
        def spy(*args, _real=getattr(national, name), _calls=calls, **kwargs):
            found = _real(*args, **kwargs)
            _calls.append(found is not None)
            return found
        monkeypatch.setattr(national, name, spy)
    return seen


PLACES = [dict(code_commune=LAON), dict(code_commune=CHIVY), dict(code_commune=BARENTON), dict(code_commune=REIMS),
          dict(code_commune=HIRSON), dict(point=(3.6244, 49.5641)), dict(point=(3.58, 49.6))]
FILTERS = [{}, {}, dict(thematiques=("mobilite",)), dict(thematiques=("sante", "logement-hebergement")),
           dict(publics=("femmes",)), dict(frais=("payant",)), dict(modes_accueil=("a-distance",)),
           dict(modes_accueil=("en-presentiel",)), dict(thematiques=("numerique",), publics=("jeunes",)),
           dict(hide_duplicates=False), dict(published_only=False), dict(types=("atelier",), frais=("gratuit",)),
           dict(territory="laonnois")]


def _queries(structure) -> list[SearchQuery]:
    rng = random.Random(2026)
    found = [SearchQuery(**place, **filters) for place in PLACES for filters in FILTERS]  # page 1, pertinence
    for place in PLACES:
        for filters in [*FILTERS, dict(structure=structure)] * 2:
            found.append(SearchQuery(**place, **filters, sort=rng.choice([Sort.PERTINENCE, Sort.DISTANCE]),
                                     page=rng.choice([1, 1, 2, 3]), size=rng.choice([5, 20]),
                                     radius_km=rng.choice([5, 10, 50]), with_facets=rng.random() < 0.6))
    # the whole query's own cases: free text, freshness, deep pages
    found += [SearchQuery(code_commune=LAON, text="permis"), SearchQuery(code_commune=LAON, sort=Sort.FRAICHEUR),
              SearchQuery(code_commune=LAON, page=11), SearchQuery(code_commune=LAON, size=5, page=40)]
    return found


def test_pages_through_the_cache_equal_the_whole_query(catalogue, taken):
    sessions, _, structure = catalogue
    cache, other = SearchCache(100, shared_size=1000), SearchCache(100, shared_size=1000)
    fast_first = []
    with sessions() as s:
        for query in _queries(structure):
            whole = PostgresBackend(s).search(query)
            before = len(taken["_page"])
            assert PostgresBackend(s, cache=cache).search(query) == whole, query  # computed, kept
            fast = any(taken["_page"][before:])
            assert PostgresBackend(s, cache=cache).search(query) == whole, query  # kept, in this process
            assert PostgresBackend(s, cache=other).search(query) == whole, query  # kept, shared
            if query.page == 1 and query.sort == Sort.PERTINENCE and query.size == 20 and not query.text:
                fast_first.append(fast)
            if query.text or query.sort == Sort.FRAICHEUR or query.page > 10:
                assert not fast
    assert cache.hits > 0 and other.shared_hits > 0
    assert sum(taken["_page"]) > len(taken["_page"]) / 2
    assert sum(fast_first) > 0.7 * len(fast_first), f"{sum(fast_first)} of {len(fast_first)}"


def test_hybrid_rows_near_the_place_enter_the_first_page(catalogue, taken):
    sessions, made, _ = catalogue
    cache = SearchCache(100)
    with sessions() as s:
        hybrids = {m.id for m in made[:33] if m.status == Status.PUBLIE and not m.duplicate_hidden}
        for sort in (Sort.PERTINENCE, Sort.DISTANCE):
            query = SearchQuery(code_commune=LAON, sort=sort, size=20)
            page = PostgresBackend(s, cache=cache).search(query)
            assert page == PostgresBackend(s).search(query)
            assert {h.id for h in page.hits} & hybrids  # the case the grid cells are read for
    assert all(taken["_page"])


def test_key_tallies_and_filter_counts_through_the_cache(catalogue, taken):
    sessions, _, structure = catalogue
    cache = SearchCache(100)
    queries = [SearchQuery(**place, **filters) for place in PLACES[::2] for filters in FILTERS[1:]]
    queries += [SearchQuery(code_commune=LAON, text="permis"), SearchQuery(code_commune=CHIVY, structure=structure),
                SearchQuery(point=(3.6244, 49.5641), thematiques=("mobilite", "sante"), publics=("femmes",), page=3)]
    with sessions() as s:
        for query in queries:
            chosen = postgres.filter_keys(query)
            field = next(iter(chosen), None)
            cases = [(query, [k for keys in chosen.values() for k in keys], ALL_PUBLICS),
                     (query, [], "frais:payant")]
            if field is not None:  # as search.facet_counts asks: the filter left out, its keys inside
                cases.append((replace(query, **{field: ()}), sorted(chosen[field]), ALL_PUBLICS))
            for q, inside, marker in cases:
                whole = PostgresBackend(s).key_tallies(q, inside, marker)
                for _ in range(2):
                    assert PostgresBackend(s, cache=cache).key_tallies(q, inside, marker) == whole, (q, inside)
            counts = click_counts(PostgresBackend(s), query)
            for _ in range(2):
                assert click_counts(PostgresBackend(s, cache=cache), query, cache) == counts, query
    assert cache.hits > 0
    assert taken["_tallies"] and all(taken["_tallies"])


@pytest.mark.parametrize(("modes", "zone", "cell"), [(BOTH, [], True), (BOTH, ["france"], True),
                                                     (["a-distance"], [], False), (["en-presentiel"], [LAON], True)])
def test_a_placed_service_received_on_site_has_its_cell(factories, db, modes, zone, cell):
    s = factories.ServiceFactory(modes_accueil=modes, zone_eligibilite=zone, location="SRID=4326;POINT(3.5 49.7)")
    db.flush()
    found = db.scalar(text("SELECT zone FROM search_document WHERE service_id = :i"), {"i": s.id})
    assert (_cell(3.5, 49.7) in found) is cell
    assert [z for z in found if z.startswith("g:")] == ([_cell(3.5, 49.7)] if cell else [])


@pytest.fixture
def small(pg_server_url, template_db):
    url, engine, sessions = _database(pg_server_url, template_db, "natchg_")
    yield sessions
    engine.dispose()
    dbsetup.drop_database(pg_server_url, url)


def test_a_national_hybrid_tied_at_the_edge_of_the_page_is_found(small, taken):
    """A national hybrid at the same place and date as the k-th row of the rest (so
    at its very distance and score), ahead of it by its id: on the page."""
    lon, lat = _destination(*CENTRE, 90, 3000)
    here, today = f"SRID=4326;POINT({lon} {lat})", date.today()
    with small() as s:
        f.use(s)
        f.ServiceFactory(zone_eligibilite=[LAON], location=_point(random.Random(1), 1000, 1000), date_maj=today)
        for n in (0xF0, 0xF1):  # the rest's 2nd and 3rd rows
            f.ServiceFactory(id=uuid.UUID(int=n), zone_eligibilite=[LAON], location=here, date_maj=today)
        hybrid = f.ServiceFactory(id=uuid.UUID(int=1), zone_eligibilite=[],
                                  modes_accueil=BOTH, location=here, date_maj=today)
        for i in range(10):
            f.ServiceFactory(zone_eligibilite=["france"], modes_accueil=["a-distance"], location=None,
                             date_maj=today - timedelta(days=400 + i))
        s.commit()
    cache = SearchCache(100)
    with small() as s:
        for sort in (Sort.PERTINENCE, Sort.DISTANCE):
            query = SearchQuery(code_commune=LAON, sort=sort, size=2)
            page = PostgresBackend(s).search(query)
            assert page.hits[1].id == hybrid.id  # ahead of its ties by its id
            for _ in range(2):
                assert PostgresBackend(s, cache=cache).search(query) == page, sort
    assert taken["_page"] == [True] * 4


def test_a_change_to_a_national_service_is_seen_through_the_cache(small, taken):
    rng = random.Random(7)
    with small() as s:
        f.use(s)
        remote = [f.ServiceFactory(zone_eligibilite=rng.choice(NATIONAL_ZONES), modes_accueil=["a-distance"],
                                   location=None, date_maj=date.today() - timedelta(days=i)) for i in range(30)]
        hybrid = f.ServiceFactory(zone_eligibilite=[], modes_accueil=BOTH, location=_point(rng, 20_000, 30_000))
        for _ in range(10):
            f.ServiceFactory(zone_eligibilite=[LAON], location=_point(rng, 12_000, 20_000))
        s.commit()
    cache = SearchCache(100)
    query = SearchQuery(code_commune=LAON, thematiques=("mobilite",), size=5)

    def check() -> set:
        with small() as s:
            page = PostgresBackend(s, cache=cache).search(query)
            assert page == PostgresBackend(s).search(query)
            assert PostgresBackend(s, cache=cache).search(query) == page
            return {h.id for h in page.hits}

    first = check()
    assert cache.hits == 1 and remote[0].id in first and hybrid.id not in first
    _change(small, remote[0].id, status=Status.BROUILLON)  # unpublished
    assert remote[0].id not in check()
    _change(small, remote[1].id, thematiques=["sante--acces-aux-soins"])  # out of the filter
    assert remote[1].id not in check()
    _change(small, hybrid.id, location=f"SRID=4326;POINT({CENTRE[0]} {CENTRE[1]})")  # moved to the place
    assert hybrid.id in check()
    with small() as s:  # a transaction that wrote: its own change, through the cache too
        s.get(Service, remote[2].id).status = Status.ARCHIVE
        s.flush()
        page = PostgresBackend(s, cache=cache).search(query)
        assert page == PostgresBackend(s).search(query) and remote[2].id not in {h.id for h in page.hits}
        s.rollback()
    assert remote[2].id in check()
    assert all(taken["_page"])
