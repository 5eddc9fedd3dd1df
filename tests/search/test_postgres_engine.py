"""The PostgreSQL engine's own settings: parallel workers for the largest searches
only (parallel_setup_cost), and the session's setting put back afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from search.contract import SearchQuery
from search.errors import InvalidQuery
from search.postgres import PostgresBackend
from tests.search.conftest import LAON


def test_small_search_runs_serially_and_restores_the_setting(db, factories):
    factories.ServiceFactory()
    db.flush()
    db.execute(text("SET LOCAL max_parallel_workers_per_gather = 3"))
    # Parallel plans as cheap as can be: the planner would take them if it could.
    for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size",
                    "min_parallel_index_scan_size"):
        db.execute(text(f"SET LOCAL {setting} = 0"))
    plans: list[str] = []
    page = PostgresBackend(db, explain_into=plans).search(SearchQuery(code_commune=LAON))
    assert page.total == 1
    assert "Gather" not in plans[0]
    assert db.scalar(text("SELECT current_setting('parallel_setup_cost')")) == "0"


def test_setting_restored_after_a_refused_query(db):
    db.execute(text("SET LOCAL parallel_setup_cost = 10"))
    with pytest.raises(InvalidQuery):
        PostgresBackend(db).search(SearchQuery(thematiques=("inconnue",)))
    assert db.scalar(text("SELECT current_setting('parallel_setup_cost')")) == "10"


def test_setting_left_to_the_transaction_when_asked(db, factories):
    """The JSON API's search (SearchService.rendered) only reads the page's rows by id
    after it: the setting is left to the end of its transaction, one round trip less."""
    factories.ServiceFactory()
    db.flush()
    db.execute(text("SET LOCAL parallel_setup_cost = 10"))
    assert PostgresBackend(db, restore=False).search(SearchQuery(code_commune=LAON)).total == 1
    assert float(db.scalar(text("SELECT current_setting('parallel_setup_cost')"))) == 1_500_000
