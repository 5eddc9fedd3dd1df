"""The functions and triggers a database migrated to head runs are those of the .sql
files beside the code (search/sql, catalogue/sql): the text in the repository is
the truth, and a change made in one and not the other fails here."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests import dbsetup
from tests.migrations.sql_definitions import (
    differences,
    file_definitions,
    sql_files,
    statements,
)


def test_the_database_runs_the_sql_files(connection):
    assert differences(connection) == []


def test_every_sql_file_defines_something():
    defined = {d.where for d in file_definitions().values()}
    assert defined and all(name.endswith(".sql") for name in defined)
    assert "search/sql/search_refresh_rows.sql" in defined


def test_statements_keep_quoted_semicolons_and_drop_outer_comments():
    sql = (
        "-- a comment; with a semicolon\n"
        "CREATE OR REPLACE FUNCTION public.f(a text) RETURNS text LANGUAGE sql\n"
        "AS $function$ SELECT 'x;y' -- inside; kept\n $function$;\n"
        "-- between\nCREATE OR REPLACE TRIGGER t AFTER UPDATE ON public.s FOR EACH ROW EXECUTE FUNCTION f();\n"
    )
    first, second = statements(sql)
    assert first.startswith("CREATE OR REPLACE FUNCTION") and "'x;y' -- inside; kept" in first
    assert second.startswith("CREATE OR REPLACE TRIGGER t") and "between" not in second


@pytest.fixture
def throwaway(pg_server_url, template_db):
    """A database of its own, copied from the migrated template, dropped after."""
    url = dbsetup.create_test_database(pg_server_url, template_db, label="sqlfiles_")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
        dbsetup.drop_database(pg_server_url, url)


def test_a_function_changed_in_the_database_only_is_reported(throwaway):
    definition = throwaway.scalar(
        text("SELECT pg_get_functiondef('search_refresh(uuid[])'::regprocedure)")
    )
    throwaway.execute(text(definition.replace("IS NOT NULL THEN", "IS NOT NULL AND true THEN")))
    throwaway.execute(text("DROP TRIGGER structure_outbox ON structure"))
    throwaway.execute(text(
        "CREATE FUNCTION stray() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$"
    ))
    throwaway.execute(text(
        "CREATE TRIGGER stray_trigger AFTER DELETE ON service "
        "FOR EACH STATEMENT EXECUTE FUNCTION search_service_changed()"
    ))
    found = differences(throwaway)
    assert len(found) == 4, found
    changed, stray, stray_trigger, dropped = found
    assert changed.startswith("FUNCTION public.search_refresh(ids uuid[]): the database differs "
                              "from search/sql/search_refresh.sql")
    assert "AND true" in changed
    assert stray == "FUNCTION public.stray(): in the database, in no .sql file"
    assert stray_trigger == "TRIGGER stray_trigger ON public.service: in the database, in no .sql file"
    assert dropped == ("TRIGGER structure_outbox ON public.structure: "
                       "in search/sql/triggers.sql, not in the database")


def test_a_file_changed_without_a_migration_is_reported(connection):
    files = {str(p.relative_to(dbsetup.ROOT)): p.read_text() for p in sql_files()}
    files["search/sql/search_add_words.sql"] = files["search/sql/search_add_words.sql"].replace(
        "length(w) >= 3", "length(w) >= 4"
    )
    files["search/sql/new_function.sql"] = (
        "CREATE OR REPLACE FUNCTION public.new_function() RETURNS int LANGUAGE sql "
        "AS $function$ SELECT 1 $function$;"
    )
    found = differences(connection, files)
    assert len(found) == 2, found
    assert found[0] == "FUNCTION public.new_function(): in search/sql/new_function.sql, not in the database"
    assert found[1].startswith("FUNCTION public.search_add_words(t text): the database differs")
