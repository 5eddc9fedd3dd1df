"""Fixtures of the importers' tests: the loader's sessions bound to the test's
transaction (each batch commit becomes a savepoint), and a run helper."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from importers import registry
from importers.models import ImportRun

DATA = Path(__file__).resolve().parent.parent / "data" / "importers"


@pytest.fixture
def sessions(connection):
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                        expire_on_commit=False)


@pytest.fixture
def run_import(sessions, tmp_path):
    """Import `location` with `source`; returns the stored run's report."""

    def run(source: str, location, **kwargs) -> dict:
        loader = registry.run_import(sessions, source, str(location), tmp_path, **kwargs)
        with sessions() as s:
            run = s.scalar(select(ImportRun).where(ImportRun.id == loader.run_id))
            report = dict(run.report)
            report["run_id"] = run.id
            report["status"] = run.status
        return report

    return run


def counts(report: dict, kind: str) -> dict:
    return report["compteurs"][kind]


@pytest.fixture
def runner_env(app):
    """ScriptInfo for invoking the `offre` CLI on the test app."""
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)
