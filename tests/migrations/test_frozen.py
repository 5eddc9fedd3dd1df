"""Every migration holds a frozen copy of what it runs: it imports nothing but
alembic, sqlalchemy and geoalchemy2 (the import linter says the same of the project's
packages), loads no other file and never rewrites a definition read from the
database."""

from __future__ import annotations

import ast

import pytest

from tests.dbsetup import ROOT

VERSIONS = sorted((ROOT / "migrations" / "versions").glob("0*.py"))
ALLOWED = {"alembic", "sqlalchemy", "geoalchemy2"}
FORBIDDEN_NAMES = {"importlib", "open", "Path", "__import__", "exec", "eval", "__file__"}


@pytest.mark.parametrize("path", VERSIONS, ids=lambda p: p.name)
def test_a_migration_imports_only_alembic_and_sqlalchemy(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots = {(node.module or "").split(".")[0]} if node.level == 0 else {"."}
        else:
            continue
        assert roots <= ALLOWED, f"{path.name}:{node.lineno} imports {sorted(roots - ALLOWED)}"


@pytest.mark.parametrize("path", VERSIONS, ids=lambda p: p.name)
def test_a_migration_reads_no_file_and_patches_no_live_definition(path):
    source = path.read_text()
    names = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    assert not names & FORBIDDEN_NAMES, f"{path.name} uses {sorted(names & FORBIDDEN_NAMES)}"
    assert "pg_get_functiondef" not in source, f"{path.name} rewrites a definition read from the database"


def test_there_are_migrations():
    assert len(VERSIONS) >= 19
