"""web/ keeps routes, forms, templates and HTTP: its SQL lives below it (catalogue,
geo, search). import-linter's contracts work on modules, and `sqlalchemy.text` is a
name of the `sqlalchemy` module that web/ still imports for other names (Session,
exceptions), so this test reads web/'s imports instead."""

from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
# Building statements: raw SQL never, queries (select…) below web/.
FORBIDDEN = {"text", "select", "insert", "update", "delete", "union", "exists"}
# Nothing pending: every query of web/ went below it (issue #21).
PENDING: tuple[str, ...] = ()


def _sql_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found |= {a.name for a in node.names if a.name in FORBIDDEN}
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name == "sqlalchemy"}
    return found


def test_web_imports_no_sqlalchemy_text():
    offenders = {str(p.relative_to(WEB.parent)): names for p in WEB.rglob("*.py")
                 if "text" in (names := _sql_names(p))}
    assert offenders == {}


def test_web_builds_no_query():
    offenders = {}
    for path in WEB.rglob("*.py"):
        name = str(path.relative_to(WEB.parent))
        if name.startswith(PENDING):
            continue
        if names := _sql_names(path):
            offenders[name] = names
    assert offenders == {}
