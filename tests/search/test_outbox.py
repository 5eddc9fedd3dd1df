"""The search outbox (issue 17, point 3): empty with the PostgreSQL engine, one row
per service at most with an external one, and a switch to an external engine that
starts with a full rebuild. Against a database of its own: the switch and the
worker commit in several transactions."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from catalogue.db import make_engine, make_sessionmaker
from importers import registry
from search import sync
from search.postgres import PostgresBackend
from tests import dbsetup


@pytest.fixture
def sessions(pg_server_url, template_db):
    url = dbsetup.create_test_database(pg_server_url, template_db, label="outbox_")
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()
    dbsetup.drop_database(pg_server_url, url)


def _file(path, services: int, structures: int = 100, suffix: str = "") -> None:
    lines = []
    for i in range(structures):
        lines.append({"source": "essai", "id": f"s{i}", "nom": f"Association numéro {i}",
                      "code_insee": "02691", "date_maj": "2026-01-05"})
    for n in range(services):
        lines.append({"source": "essai", "id": f"v{n}", "structure_id": f"s{n % structures}",
                      "nom": f"Atelier {n}{suffix}", "description": "Atelier numérique pour débuter.",
                      "thematiques": ["numerique--maitriser-les-fondamentaux-du-numerique"],
                      "code_insee": "02691", "zone_eligibilite": ["02"], "date_maj": "2026-01-05"})
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")


def _count(sessions, sql: str) -> int:
    with sessions() as s:
        return s.scalar(text(sql))


@pytest.mark.slow
def test_ten_thousand_services_imported_with_postgresql_leave_the_outbox_empty(sessions, tmp_path):
    path = tmp_path / "essai.ndjson"
    _file(path, services=10_000)
    loader = registry.run_import(sessions, "data-inclusion", str(path), tmp_path)
    assert loader.report.as_dict()["compteurs"]["service"]["crees"] == 10_000
    assert _count(sessions, "SELECT count(*) FROM service") == 10_000
    assert _count(sessions, "SELECT count(*) FROM search_document") == 10_000
    assert _count(sessions, "SELECT count(*) FROM search_outbox") == 0


class Recorder(PostgresBackend):
    """The PostgreSQL engine, recording what an external engine would be sent."""

    rebuilt: list = []
    indexed: list = []

    def rebuild(self, documents=None):
        docs = list(documents or [])
        Recorder.rebuilt.append(len(docs))
        return len(docs)

    def index(self, documents):
        Recorder.indexed.extend(d.id for d in documents)


def test_external_engine_outbox_holds_one_row_per_service_and_switch_rebuilds(sessions, tmp_path):
    Recorder.rebuilt, Recorder.indexed = [], []
    path = tmp_path / "essai.ndjson"
    _file(path, services=300, structures=10)
    registry.run_import(sessions, "data-inclusion", str(path), tmp_path)
    with sessions() as s:
        assert sync.needs_switch(s, "meilisearch")
        assert not sync.needs_switch(s, "postgres")

    # The worker configured for an external engine: its first pass is a full rebuild.
    passes = iter(range(2))
    sync.worker(sessions, Recorder, configured="meilisearch", interval=0,
                stop=lambda: next(passes, None) is None, sleep=lambda s: None)
    assert Recorder.rebuilt == [300]
    with sessions() as s:
        state = sync.engine_state(s)
        assert (state.engine, state.outbox_enabled) == ("meilisearch", True)
        assert state.rebuilt_at is not None
        assert not sync.needs_switch(s, "meilisearch")
    assert _count(sessions, "SELECT count(*) FROM search_outbox") == 0

    # Every service changed three times, and its structures too: still at most one row each.
    for suffix in (" a", " b", " c"):
        _file(path, services=300, structures=10, suffix=suffix)
        registry.run_import(sessions, "data-inclusion", str(path), tmp_path)
    with sessions() as s, s.begin():
        s.execute(text("UPDATE structure SET nom = nom || ' (modifiée)'"))
    assert _count(sessions, "SELECT count(*) FROM search_outbox") == 300
    with sessions() as s:
        stats = sync.outbox_stats(s)
    assert stats.rows == 300 and stats.oldest_age_s >= 0

    result = sync.sync_all(sessions, Recorder, batch=128)
    assert result.rows == 300 and len(set(Recorder.indexed)) == 300
    assert _count(sessions, "SELECT count(*) FROM search_outbox") == 0

    # Back to PostgreSQL: the outbox is turned off and emptied.
    with sessions() as s, s.begin():
        s.execute(text("UPDATE service SET nom = nom || '.'"))
    assert _count(sessions, "SELECT count(*) FROM search_outbox") == 300
    sync.switch_to(sessions, "postgres", Recorder)
    assert _count(sessions, "SELECT count(*) FROM search_outbox") == 0
    with sessions() as s, s.begin():
        s.execute(text("UPDATE service SET nom = nom || '.'"))
    assert _count(sessions, "SELECT count(*) FROM search_outbox") == 0


def test_worker_with_the_postgresql_engine_turns_a_leftover_outbox_off(sessions, tmp_path):
    """The real PostgreSQL engine: a database that fed Meilisearch before (outbox on,
    rows pending) is switched back by the worker's first pass; the search rows follow
    every change by themselves and the outbox stays empty."""
    path = tmp_path / "essai.ndjson"
    _file(path, services=50, structures=5)
    with sessions() as s, s.begin():
        s.execute(text("UPDATE search_engine_state SET engine = 'meilisearch', outbox_enabled = true"))
    registry.run_import(sessions, "data-inclusion", str(path), tmp_path)
    assert _count(sessions, "SELECT count(*) FROM search_outbox") == 50

    passes = iter(range(2))
    sync.worker(sessions, PostgresBackend, configured="postgres", interval=0,
                stop=lambda: next(passes, None) is None, sleep=lambda s: None)
    with sessions() as s:
        state = sync.engine_state(s)
    assert (state.engine, state.outbox_enabled) == ("postgres", False)
    assert _count(sessions, "SELECT count(*) FROM search_outbox") == 0

    with sessions() as s, s.begin():
        s.execute(text("UPDATE service SET nom = 'Atelier renommé' WHERE source_id = 'v7'"))
    assert _count(sessions, "SELECT count(*) FROM search_outbox") == 0
    with sessions() as s:
        from search.contract import SearchQuery

        page = PostgresBackend(s).search(SearchQuery(text="renommé"))
    assert page.total == 1


def test_switch_waits_for_a_writer_that_began_before_the_outbox_was_on(sessions, tmp_path):
    """A change whose trigger ran while the outbox was still off is neither in the
    outbox nor lost: the rebuild waits for its transaction and reads it."""
    import threading

    path = tmp_path / "essai.ndjson"
    _file(path, services=20, structures=2)
    registry.run_import(sessions, "data-inclusion", str(path), tmp_path)
    names: list = []

    class Names(Recorder):
        def rebuild(self, documents=None):
            names.extend(d.data["nom"] for d in documents)
            return len(names)

    writer = sessions()
    writer.begin()
    writer.execute(text("UPDATE service SET nom = 'Atelier pendant la bascule' WHERE source_id = 'v3'"))
    switch = threading.Thread(target=sync.switch_to, args=(sessions, "meilisearch", Names))
    switch.start()
    switch.join(timeout=1.5)
    assert switch.is_alive(), "the rebuild did not wait for the older writer"
    writer.commit()
    writer.close()
    switch.join(timeout=60)
    assert not switch.is_alive()
    assert "Atelier pendant la bascule" in names and len(names) == 20
    with sessions() as s:
        assert sync.engine_state(s).outbox_enabled


def test_rebuild_command_with_postgresql_recomputes_and_turns_the_outbox_off(sessions, tmp_path):
    from web.app import create_app
    from web.cli import build_cli
    from web.settings import Settings

    path = tmp_path / "essai.ndjson"
    _file(path, services=20, structures=2)
    with sessions() as s, s.begin():
        s.execute(text("UPDATE search_engine_state SET engine = 'meilisearch', outbox_enabled = true"))
    registry.run_import(sessions, "data-inclusion", str(path), tmp_path)
    with sessions() as s, s.begin():
        s.execute(text("DELETE FROM search_document"))
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, secret_key="x" * 40))
    result = app.test_cli_runner().invoke(build_cli(), ["search", "rebuild"])
    app.extensions["offre"]["engine"].dispose()
    assert result.exit_code == 0, result.output
    assert "Index reconstruit (20 offres)" in result.output
    assert _count(sessions, "SELECT count(*) FROM search_document") == 20
    assert _count(sessions, "SELECT count(*) FROM search_outbox") == 0
    with sessions() as s:
        assert not sync.engine_state(s).outbox_enabled
