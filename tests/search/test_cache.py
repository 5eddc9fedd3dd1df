"""The search cache (search/cache.py, SEARCH_CACHE_SIZE): what it keeps is served
only under the catalogue generation it was computed at, so a change committed to the
catalogue (publish, unpublish, edit, new service) is seen by the very next search, in
every process. Against a database of its own: the changes are really committed (in
the tests' rolled-back transaction, a transaction that wrote bypasses the cache)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from catalogue.db import make_engine, make_sessionmaker
from catalogue.models import Service, Status
from search import cache as search_cache
from search.contract import SearchQuery
from search.facet_counts import click_counts
from search.postgres import PostgresBackend
from tests import dbsetup
from tests import factories as f
from tests.search.conftest import LAON
from web import search_ as web_search
from web.app import create_app
from web.settings import Settings

URL = "/api/v1/services/search"


@pytest.fixture
def committed(pg_server_url, template_db):
    """(database url, sessionmaker) of a database of its own, dropped after."""
    url = dbsetup.create_test_database(pg_server_url, template_db, label="srchcache_")
    engine = make_engine(url)
    yield url, make_sessionmaker(engine)
    engine.dispose()
    dbsetup.drop_database(pg_server_url, url)


def _app(url: str, size: int = 100, shared: int = 100):
    app = create_app(Settings(database_url=url, secret_key="test-secret", tiles_url="", offre_env="test",
                              search_cache_size=size, search_shared_cache_size=shared))
    app.config["TESTING"] = True
    return app


def _service(sessions, **fields) -> Service:
    with sessions() as s:
        f.use(s)
        service = f.ServiceFactory(**fields)
        s.commit()
        return service


def _change(sessions, service_id, **values) -> None:
    with sessions() as s:
        row = s.get(Service, service_id)
        for name, value in values.items():
            setattr(row, name, value)
        s.commit()


def _ids(client, **params) -> set[str]:
    body = client.get(URL, query_string={"code_commune": LAON, **params}).get_json()
    return {i["service"]["id"] for i in body["items"]}


def test_a_committed_change_is_seen_by_the_very_next_search(committed):
    url, sessions = committed
    a = _service(sessions, nom="Garage solidaire")
    b = _service(sessions, nom="Atelier vélo")
    app = _app(url)
    client, cache = app.test_client(), web_search.service(app).cache
    assert _ids(client) == {str(a.id), str(b.id)}
    hits = cache.hits
    assert _ids(client) == {str(a.id), str(b.id)}
    assert cache.hits == hits + 1  # the same search again: its page and its JSON, kept together, from the cache

    _change(sessions, b.id, status=Status.BROUILLON)  # unpublished
    assert _ids(client) == {str(a.id)}
    _change(sessions, b.id, status=Status.PUBLIE)  # published again
    assert _ids(client) == {str(a.id), str(b.id)}
    assert _ids(client, q="remorque") == set()
    _change(sessions, a.id, nom="Remorque solidaire")  # edited
    assert _ids(client, q="remorque") == {str(a.id)}
    c = _service(sessions, nom="Remorque partagée")  # a new service
    assert _ids(client, q="remorque") == {str(a.id), str(c.id)}
    body = client.get(URL, query_string={"code_commune": LAON, "frais": "payant"}).get_json()
    assert body["total"] == 0
    _change(sessions, c.id, frais="payant")
    body = client.get(URL, query_string={"code_commune": LAON, "frais": "payant"}).get_json()
    assert [i["service"]["id"] for i in body["items"]] == [str(c.id)]
    assert body["facets"]["frais"] == {"payant": 1}


def test_every_process_sees_the_change_and_the_filter_counts_follow(committed):
    url, sessions = committed
    a = _service(sessions, nom="Garage solidaire")
    workers = [_app(url), _app(url)]  # two gunicorn workers: a cache each
    query = SearchQuery(code_commune=LAON)
    for app in workers:
        with app.test_request_context():
            assert web_search.click_counts(query)["frais"] == {"gratuit": 1}
            assert web_search.run_search(query, log=False).total == 1
    _service(sessions, nom="Atelier vélo", frais="payant")
    _change(sessions, a.id, status=Status.ARCHIVE)
    for app in workers:
        with app.test_request_context():
            assert web_search.click_counts(query)["frais"] == {"payant": 1}
            assert web_search.run_search(query, log=False).total == 1
        assert app.test_client().get("/recherche", query_string={"code_commune": LAON}).status_code == 200


def test_filter_counts_with_filters_ticked_equal_the_uncached_ones_after_a_change(committed):
    url, sessions = committed
    a = _service(sessions, nom="Garage solidaire")
    _service(sessions, nom="Atelier vélo", frais="payant", thematiques=["logement-hebergement--etre-accompagne-pour-se-loger"])
    service = web_search.service(_app(url))
    queries = [SearchQuery(code_commune=LAON, thematiques=("mobilite",)),
               SearchQuery(code_commune=LAON, thematiques=("logement-hebergement",), frais=("gratuit",)),
               SearchQuery(code_commune=LAON, frais=("payant",), page=2)]

    def check():
        with sessions() as s:
            for query in queries:
                assert service.click_counts(s, query) == click_counts(PostgresBackend(s), query)

    check()
    check()  # from the cache
    _change(sessions, a.id, thematiques=["logement-hebergement--etre-accompagne-pour-se-loger"], frais="payant")
    check()
    assert service.cache.hits > 0


def test_a_transaction_that_wrote_is_not_served_nor_kept(committed):
    url, sessions = committed
    _service(sessions, nom="Garage solidaire")
    service = web_search.service(_app(url))
    query = SearchQuery(code_commune=LAON)
    with sessions() as s:
        assert search_cache.generation(s) is not None
        assert service.search(s, query, log=False).total == 1
        f.use(s)
        f.ServiceFactory(nom="Atelier vélo")
        s.flush()
        assert search_cache.generation(s) is None  # its own change, not yet the catalogue's
        assert service.search(s, query, log=False).total == 2
        s.rollback()
    with sessions() as s:
        assert service.search(s, query, log=False).total == 1


def test_the_generation_grows_with_each_commit_only(committed):
    url, sessions = committed
    with sessions() as s:
        before = search_cache.generation(s)
    service = _service(sessions)
    with sessions() as s:
        after = search_cache.generation(s)
        assert after > before
        s.execute(text("SELECT 1"))
        assert search_cache.generation(s) == after
    _change(sessions, service.id, nom="Autre nom")
    with sessions() as s:
        assert search_cache.generation(s) > after


def test_size_zero_turns_the_cache_off(committed):
    url, sessions = committed
    _service(sessions)
    app = _app(url, size=0)
    client = app.test_client()
    _ids(client)
    _ids(client)
    assert web_search.service(app).cache.hits == 0


def _shared_rows(sessions) -> list[tuple[int, bytes]]:
    with sessions() as s:
        return s.execute(text("SELECT generation, digest FROM search_cache_entry ORDER BY 1, 2")).all()


def test_a_search_computed_by_one_process_is_read_by_the_others_until_a_change(committed):
    url, sessions = committed
    a = _service(sessions, nom="Garage solidaire")
    first, second = _app(url), _app(url)  # two gunicorn workers: the table between them
    one, two = web_search.service(first).cache, web_search.service(second).cache
    assert _ids(first.test_client()) == {str(a.id)}
    assert (one.hits, one.shared_hits, one.misses) == (0, 0, 1)  # its page and its JSON computed, kept as one
    assert len(_shared_rows(sessions)) == 2  # the page, and its national part (search.national)
    assert _ids(second.test_client()) == {str(a.id)}
    assert (two.hits, two.shared_hits, two.misses) == (0, 1, 0)  # read, not computed
    assert _ids(second.test_client()) == {str(a.id)}
    assert two.hits == 1  # then kept in the process

    b = _service(sessions, nom="Atelier vélo")  # committed: the very next search misses
    assert _ids(second.test_client()) == {str(a.id), str(b.id)}
    assert two.misses == 1
    assert _ids(first.test_client()) == {str(a.id), str(b.id)}
    assert one.shared_hits == 1
    with sessions() as s:
        current = search_cache.generation(s)
    assert {g for g, _ in _shared_rows(sessions)} == {current}  # the stale rows pruned

    _change(sessions, b.id, status=Status.BROUILLON)
    for app in (first, second):
        assert _ids(app.test_client()) == {str(a.id)}


def test_a_transaction_that_wrote_writes_no_shared_row(committed):
    url, sessions = committed
    _service(sessions, nom="Garage solidaire")
    service = web_search.service(_app(url))
    query = SearchQuery(code_commune=LAON)
    with sessions() as s:
        f.use(s)
        f.ServiceFactory(nom="Atelier vélo")
        s.flush()
        assert service.search(s, query, log=False).total == 2
        s.rollback()
    assert _shared_rows(sessions) == []
    other = web_search.service(_app(url))
    with sessions() as s:
        assert other.search(s, query, log=False).total == 1
    assert other.cache.misses == 1 and len(_shared_rows(sessions)) == 2  # the page, its national part


def test_shared_size_zero_shares_nothing_and_the_rows_are_capped(committed, monkeypatch):
    url, sessions = committed
    _service(sessions)
    _ids(_app(url, shared=0).test_client())
    assert _shared_rows(sessions) == []
    monkeypatch.setattr(search_cache, "PRUNE_EVERY", 1)
    client = _app(url, shared=3).test_client()
    for page in range(1, 5):
        client.get(URL, query_string={"code_commune": LAON, "page": page})
    assert len(_shared_rows(sessions)) <= 3
