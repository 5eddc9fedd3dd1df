"""The anonymous search log: what a search leaves behind, and what it never does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, text

from catalogue import cto
from catalogue.cto import SearchLog
from web.cto import searchlog

LAON = "02408"
SECRET = "Zorglubette Quinquinabar Xylophrase"


def _text_columns(db) -> list[tuple[str, str, str]]:
    """(table, column, type) of every text-like column of every table of the schema."""
    return db.execute(
        text(
            """
            SELECT c.table_name, c.column_name, c.data_type
            FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              AND (c.data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'tsvector')
                   OR (c.data_type = 'ARRAY' AND c.udt_name IN ('_text', '_varchar')))
            ORDER BY 1, 2
            """
        )
    ).all()


def _tables_holding(db, needle: str) -> list[str]:
    found = []
    for table, column, _type in _text_columns(db):
        hit = db.scalar(
            text(f'SELECT 1 FROM "{table}" WHERE position(lower(:n) in lower(CAST("{column}" AS text))) > 0 LIMIT 1'),
            {"n": needle},
        )
        if hit:
            found.append(f"{table}.{column}")
    return found


def test_free_text_is_never_stored(db, client, factories):
    factories.ServiceFactory(nom="Aide au logement", thematiques=["logement-hebergement--louer-un-logement"])
    db.flush()
    assert _tables_holding(db, "Zorglubette") == []
    assert client.get("/recherche", query_string={"q": SECRET, "code_commune": LAON}).status_code == 200
    assert client.get("/api/v1/services/search", query_string={"q": SECRET}).status_code == 200
    assert client.get("/recherche/export.csv", query_string={"q": SECRET}).status_code == 200
    assert client.get("/recherche", query_string={"q": "louer un logement", "code_commune": LAON}).status_code == 200
    rows = db.scalars(select(SearchLog).order_by(SearchLog.id)).all()
    assert [r.filters["origine"] for r in rows] == ["site", "api", "export", "site"]
    # the log step has run, with what it may keep: the commune, that there was a text, the count
    site = rows[0]
    assert site.code_commune == LAON and site.filters["texte"] is True and site.result_count == 0
    assert site.thematiques == []
    assert site.week == date.today() - timedelta(days=date.today().weekday())
    # a text that names a need leaves the thematiques it matched, not the words
    assert "logement-hebergement--louer-un-logement" in rows[3].thematiques and rows[3].result_count == 1
    # and no column of any table holds the text typed, nor any word of it
    for needle in ("Zorglubette", "Quinquinabar", "Xylophrase", "zorglub"):
        assert _tables_holding(db, needle) == [], needle
    assert len(_text_columns(db)) > 50  # the scan does look at the whole schema


def test_one_row_per_search_not_per_page(db, client, factories):
    for _ in range(3):
        factories.ServiceFactory()
    db.flush()
    client.get("/api/v1/services/search", query_string={"thematiques": "mobilite", "size": 1})
    client.get("/api/v1/services/search", query_string={"thematiques": "mobilite", "size": 1, "page": 2})
    rows = db.scalars(select(SearchLog)).all()
    assert len(rows) == 1
    assert rows[0].thematiques == ["mobilite"] and rows[0].result_count == 3


def test_written_once_the_response_is_sent(db, client):
    """Under a server, the row is written when it closes the response (once sent:
    the client does not wait for it), by the request's session."""
    assert db.scalars(select(SearchLog)).all() == []  # (its savepoint before the request's)
    response = client.get("/api/v1/services/search", query_string={"thematiques": "mobilite"},
                          environ_overrides={"SERVER_SOFTWARE": "gunicorn"})
    assert response.status_code == 200
    assert db.scalars(select(SearchLog)).all() == []
    response.close()
    row = db.scalars(select(SearchLog)).one()
    assert row.thematiques == ["mobilite"] and row.filters == {"origine": "api"}


def test_point_is_not_kept(db, client):
    client.get("/api/v1/services/search", query_string={"lat": "49.5641", "lon": "3.6244"})
    row = db.scalars(select(SearchLog)).one()
    assert row.filters == {"origine": "api", "rayon_km": 50, "point": True}
    assert "49.56" not in str(row.filters) and row.code_commune is None


def test_retention_purge(db):
    now = datetime.now(UTC)
    for days in (10, 395, 420):
        db.add(SearchLog(week=cto.week_of((now - timedelta(days=days)).date()), thematiques=["mobilite"],
                         filters={}, result_count=0))
    db.flush()
    logs, _ = cto.purge(db, 396, now)
    assert logs == 1
    assert db.scalar(text("SELECT count(*) FROM search_log")) == 2


def test_purge_command(app, db):
    from web.commands.cto import cto_group

    db.add(SearchLog(week=date(2020, 1, 6), thematiques=[], filters={}, result_count=0))
    db.add(SearchLog(week=cto.week_of(date.today()), thematiques=[], filters={}, result_count=0))
    db.flush()
    result = app.test_cli_runner().invoke(cto_group, ["purge"])
    assert result.exit_code == 0, result.output
    assert "1 ligne(s) de plus de 396 jours supprimée(s)" in result.output
    assert db.scalar(text("SELECT count(*) FROM search_log")) == 1


def test_listener_is_installed_once(app):
    from web import search_

    searchlog.install(app)
    assert search_.service(app).listeners.count(searchlog.record) == 1
    assert app.teardown_request_funcs[None].count(searchlog.write_pending) == 1


def test_thematiques_of_the_text_when_another_engine_answered(db, app, client, factories, monkeypatch):
    """An engine that does not say which thematiques the text matched (Meilisearch):
    the log still gets them from the labels, never the text."""
    from search.contract import SearchPage
    from web import search_

    factories.ServiceFactory(thematiques=["logement-hebergement--louer-un-logement"])
    db.flush()
    search_.use_settings(app, app.extensions["offre"]["settings"].replace(search_backend="meilisearch"))

    def engine_without_matches(session, query, *, log=True):
        page = SearchPage(hits=(), total=0, page=1, size=20)
        for listener in search_.service().listeners:
            listener(query, page)
        return page

    monkeypatch.setattr(search_.service(app), "search", engine_without_matches)
    client.get("/api/v1/services/search", query_string={"q": "louer un logement"})
    row = db.scalars(select(SearchLog)).one()
    assert "logement-hebergement--louer-un-logement" in row.thematiques
    assert "louer" not in str(row.filters)
