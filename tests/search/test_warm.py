"""The national parts kept ready after a change (search.national.warm, run by the
search worker): which searches, written where the web workers read them, only once
per change, never stopping the worker."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from catalogue import vocabulary
from catalogue.models import Status
from search import national, sync
from search.contract import SearchQuery
from search.postgres import PostgresBackend
from search.service import SearchService
from tests import dbsetup
from tests import factories as f
from tests.search.conftest import LAON
from tests.search.test_national import _database

BASE = 1 + len({*(g.code for g in vocabulary.spie_groups()), *vocabulary.categories()})


def _log(session, thematiques, filters, times, weeks_ago=0):
    week = date.today() - timedelta(days=date.today().weekday() + 7 * weeks_ago)
    for _ in range(times):
        session.execute(text("INSERT INTO search_log (week, thematiques, code_commune, filters, result_count) "
                             "VALUES (:w, :t, :c, CAST(:f AS jsonb), 3)"),
                        {"w": week, "t": thematiques, "c": LAON, "f": json.dumps({"origine": "site", **filters})})


@pytest.fixture
def committed(pg_server_url, template_db):
    url, engine, sessions = _database(pg_server_url, template_db, "warm_")
    with sessions() as s:
        f.use(s)
        f.ServiceFactory(zone_eligibilite=[], modes_accueil=["a-distance"], thematiques=["mobilite--preparer-un-permis"])
        f.ServiceFactory(zone_eligibilite=["france"], modes_accueil=["a-distance", "en-presentiel"],
                         location="SRID=4326;POINT(3.62 49.57)", thematiques=["sante--acces-aux-soins"])
        f.ServiceFactory(zone_eligibilite=["02"], modes_accueil=["en-presentiel"], location="SRID=4326;POINT(3.6 49.56)")
        _log(s, ["mobilite"], {"publics": ["jeunes"], "rayon_km": 50}, 5)
        _log(s, [], {"frais": ["gratuit"]}, 3)
        _log(s, ["sante"], {"texte": True}, 9)  # a text: never reconstructed
        _log(s, ["logement"], {"territoire": "laonnois"}, 9)
        _log(s, ["mobilite"], {"types": ["atelier"]}, 9, weeks_ago=8)  # too old
        _log(s, ["inconnue"], {}, 2)  # a code the vocabulary no longer knows
        s.commit()
    yield sessions
    engine.dispose()
    dbsetup.drop_database(pg_server_url, url)


def test_the_common_searches_then_the_most_frequent_filters_of_four_weeks(committed):
    with committed() as s:
        found = national.warm_queries(s, LAON, 200)
        assert found[0] == SearchQuery(code_commune=LAON)
        assert len({q.thematiques for q in found[:BASE]}) == BASE
        assert found[BASE:] == [SearchQuery(code_commune=LAON, thematiques=("mobilite",), publics=("jeunes",)),
                                SearchQuery(code_commune=LAON, frais=("gratuit",)),
                                SearchQuery(code_commune=LAON, thematiques=("inconnue",))]
        assert len(national.warm_queries(s, LAON, 5)) == 5


def test_warmed_parts_are_read_by_another_process(committed):
    worker = SearchService(cache_size=100, shared_cache_size=1000)
    assert worker.warm(committed) == BASE + 2  # the unknown code left out
    web = SearchService(cache_size=100, shared_cache_size=1000)
    query = SearchQuery(code_commune=LAON, thematiques=("mobilite",), publics=("jeunes",))
    with committed() as s:
        assert web.search(s, query, log=False) == PostgresBackend(s).search(query)
    assert web.national.shared_hits >= 1 and web.national.misses == 0


def test_warmed_once_per_change_after_it_settled(committed):
    service = SearchService(cache_size=100, shared_cache_size=1000, warm_searches=3)
    state: list = [None, None]
    assert service.warm(committed, state) == 0  # a change seen: wait one pass
    assert service.warm(committed, state) == 3
    assert service.warm(committed, state) == 0  # nothing changed since
    with committed() as s:
        s.execute(text("UPDATE service SET status = :s WHERE id = (SELECT id FROM service ORDER BY id LIMIT 1)"),
                  {"s": Status.BROUILLON.value})
        s.commit()
    assert service.warm(committed, state) == 0
    assert service.warm(committed, state) == 3


def test_nothing_to_warm_without_a_shared_cache(committed):
    assert SearchService(cache_size=100, shared_cache_size=0).warm(committed) == 0
    assert SearchService(cache_size=0, shared_cache_size=1000).warm(committed) == 0


def test_the_worker_warms_after_each_pass_and_survives_a_failure(committed):
    calls: list[int] = []

    def after():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    sync.worker(committed, PostgresBackend, after=after, stop=lambda: len(calls) >= 2, sleep=lambda _: None)
    assert len(calls) == 2


def _pending_pages(sessions) -> int:
    """The pages of the search index's pending list (merged by the call: a probe)."""
    with sessions() as s:
        pages = s.scalar(text("SELECT gin_clean_pending_list(CAST('ix_search_document_terms' AS regclass))"))
        s.commit()
    return pages


def _touch(sessions) -> None:
    with sessions() as s:
        # a new word: the search rows' text changes (an unchanged one is updated in place)
        s.execute(text("UPDATE service SET description = description || ' mot' || md5(random()::text) "
                       "WHERE id IN (SELECT id FROM service ORDER BY id LIMIT 2)"))
        s.commit()


@pytest.mark.parametrize("shared", [1000, 0])
def test_the_index_pending_entries_are_merged_once_the_change_settled(committed, shared):
    """The rows written since the last merge sit in the GIN index's pending list,
    read through by every search: the worker merges them once a change settled."""
    _pending_pages(committed)
    _touch(committed)
    assert _pending_pages(committed) > 0  # a change leaves pending entries (the probe merges them)
    service = SearchService(cache_size=100, shared_cache_size=shared, warm_searches=1)
    state: list = [None, None]
    _touch(committed)
    service.warm(committed, state)  # the change seen: wait one pass
    service.warm(committed, state)  # settled: merged
    assert _pending_pages(committed) == 0
    _touch(committed)
    assert service.warm(committed, state) == 0
    service.warm(committed, state)
    assert _pending_pages(committed) == 0
    assert service.warm(committed, state) == 0  # nothing changed since: nothing run
