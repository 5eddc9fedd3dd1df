"""The SQL functions, aggregates and triggers of a database, and those of the .sql
files beside the code (`<package>/sql/*.sql`), as comparable texts.

A file holds `CREATE OR REPLACE …` statements in the form PostgreSQL gives them back
(pg_get_functiondef, pg_get_triggerdef), with comments of its own around them.
Both sides are compared with their whitespace collapsed; comments outside a
statement are dropped (those inside a function's body are part of it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("catalogue", "geo", "importers", "search", "web")

# Functions and procedures of the project: any schema but PostgreSQL's own, and not
# an extension's (PostGIS, unaccent, pg_trgm).
_NOT_EXTENSION = """
  n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
"""
_FUNCTIONS = f"""
SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p') AND {_NOT_EXTENSION}
"""
_AGGREGATES = f"""
SELECT format('CREATE OR REPLACE AGGREGATE %I.%I(%s) (SFUNC = %s, STYPE = %s%s%s)',
              n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
              a.aggtransfn::regproc, format_type(a.aggtranstype, NULL),
              CASE WHEN a.aggfinalfn <> 0 THEN ', FINALFUNC = ' || a.aggfinalfn::regproc END,
              CASE WHEN a.agginitval IS NOT NULL THEN ', INITCOND = ' || quote_literal(a.agginitval) END)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_aggregate a ON a.aggfnoid = p.oid
WHERE p.prokind = 'a' AND {_NOT_EXTENSION}
"""
_TRIGGERS = """
SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
WHERE NOT t.tgisinternal
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = t.tgrelid AND d.deptype = 'e')
"""


@dataclass(frozen=True)
class Definition:
    key: str  # e.g. `FUNCTION public.search_refresh(ids uuid[])`, `TRIGGER x ON public.service`
    text: str  # whitespace collapsed, without the final semicolon
    where: str  # the file, or "database"


def normalise(statement: str) -> str:
    return " ".join(statement.split()).rstrip(";").rstrip()


def key_of(statement: str) -> str:
    """What a definition defines, from its normalised text."""
    m = re.match(r"CREATE OR REPLACE (FUNCTION|PROCEDURE|AGGREGATE) ([^\s(]+)\(", statement)
    if m:
        depth, end = 1, m.end()
        while depth:  # the argument list, parentheses balanced
            depth += {"(": 1, ")": -1}.get(statement[end], 0)
            end += 1
        return f"{m.group(1)} {m.group(2)}({statement[m.end():end - 1]})"
    m = re.match(r"CREATE OR REPLACE TRIGGER (\S+) .*? ON (\S+) ", statement)
    if m:
        return f"TRIGGER {m.group(1)} ON {m.group(2)}"
    raise ValueError(f"not a CREATE OR REPLACE FUNCTION, AGGREGATE or TRIGGER: {statement[:80]}")


def statements(sql: str) -> list[str]:
    """The statements of a file: split on the semicolons outside quotes, dollar
    quotes and comments; the comments outside the statements dropped."""
    out: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(sql):
        c = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            if "".join(current).strip():  # a comment inside a statement stays
                current.append(sql[i:end])
            i = end
            continue
        dollar = re.match(r"\$[A-Za-z_]*\$", sql[i:])
        if dollar or c == "'":
            close = dollar.group(0) if dollar else "'"
            end = sql.index(close, i + len(close)) + len(close)
            current.append(sql[i:end])
            i = end
            continue
        if c == ";":
            out.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    if "".join(current).strip():
        out.append("".join(current))
    return [s for s in (s.strip() for s in out) if s]


def sql_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package / "sql").glob("*.sql"))


def file_definitions(files: dict[str, str] | None = None) -> dict[str, Definition]:
    """Every definition of the .sql files (or of `files`: name -> text)."""
    if files is None:
        files = {str(p.relative_to(ROOT)): p.read_text() for p in sql_files()}
    found: dict[str, Definition] = {}
    for name, sql in files.items():
        for statement in statements(sql):
            d = Definition(key_of(normalise(statement)), normalise(statement), name)
            if d.key in found:
                raise ValueError(f"{d.key} is defined twice: {found[d.key].where} and {name}")
            found[d.key] = d
    return found


def database_definitions(conn: Connection) -> dict[str, Definition]:
    texts = list(conn.scalars(text(_FUNCTIONS))) + list(conn.scalars(text(_AGGREGATES)))
    for trigger in conn.scalars(text(_TRIGGERS)):
        texts.append(re.sub(r"^CREATE (CONSTRAINT )?TRIGGER", r"CREATE OR REPLACE \1TRIGGER", trigger))
    found = {}
    for t in texts:
        d = Definition(key_of(normalise(t)), normalise(t), "database")
        found[d.key] = d
    return found


def differences(conn: Connection, files: dict[str, str] | None = None) -> list[str]:
    """What differs between the database and the .sql files, one line each."""
    in_db, in_files = database_definitions(conn), file_definitions(files)
    out = []
    for key in sorted(in_db.keys() | in_files.keys()):
        db, f = in_db.get(key), in_files.get(key)
        if f is None:
            out.append(f"{key}: in the database, in no .sql file")
        elif db is None:
            out.append(f"{key}: in {f.where}, not in the database")
        elif db.text != f.text:
            at = next((i for i, (a, b) in enumerate(zip(db.text, f.text, strict=False)) if a != b),
                      min(len(db.text), len(f.text)))
            out.append(f"{key}: the database differs from {f.where} at "
                       f"« …{db.text[max(0, at - 40):at + 40]}… » "
                       f"(file: « …{f.text[max(0, at - 40):at + 40]}… »)")
    return out
