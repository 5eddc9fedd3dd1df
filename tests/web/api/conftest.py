"""A database of the API tests' own, with the committed demo catalogue (a server or
schemathesis cannot see a test's uncommitted transaction)."""

from __future__ import annotations

import pytest

from catalogue import demo
from catalogue.db import make_engine, make_sessionmaker, transaction
from tests import dbsetup
from web.app import create_app
from web.settings import Settings


@pytest.fixture(scope="session")
def demo_database_url(pg_server_url, template_db):
    url = dbsetup.create_test_database(pg_server_url, template_db, label="api_demo_")
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine), actor="demo") as session:
        demo.load(session, departement="02", n_structures=300, n_services=1500, seed=2026)
    engine.dispose()
    yield url
    dbsetup.drop_database(pg_server_url, url)


@pytest.fixture(scope="session")
def demo_app(demo_database_url):
    app = create_app(
        Settings(database_url=demo_database_url, secret_key="test", tiles_url="", api_rate_limit_per_minute=0, offre_env="test")
    )
    app.config["TESTING"] = True
    yield app
    app.extensions["offre"]["engine"].dispose()
