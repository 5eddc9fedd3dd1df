"""Fixtures shared by every test: a real PostGIS, one transaction rolled back per
test, the Flask app bound to that transaction."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.orm import Session, sessionmaker

from catalogue.db import make_engine
from tests import dbsetup
from web.app import create_app
from web.settings import Settings

# The `offre` processes that tests start (CLI, scheduler jobs) run as tests: the
# secret-key rule of production (web/settings.py) is tested on its own.
os.environ.setdefault("OFFRE_ENV", "test")


@pytest.fixture(scope="session")
def pg_server_url():
    return dbsetup.server_url()


@pytest.fixture(scope="session")
def template_db(pg_server_url):
    return dbsetup.build_template(pg_server_url)


@pytest.fixture(scope="session")
def database_url(pg_server_url, template_db, worker_id):
    url = dbsetup.create_test_database(pg_server_url, template_db, label=f"{worker_id}_")
    yield url
    dbsetup.drop_database(pg_server_url, url)


@pytest.fixture(scope="session")
def worker_id(request):
    # pytest-xdist provides worker_id; without it, "main".
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine):
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def db(connection) -> Session:
    """A session inside the test's transaction; commits become savepoints."""
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    session.close()


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret", tiles_url="", offre_env="test")


@pytest.fixture
def app(settings, connection):
    """The app, its sessions bound to the test's transaction."""
    app = create_app(settings)
    app.config["TESTING"] = True
    app.extensions["offre"]["sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def factories(db):
    from tests import factories as f

    f.use(db)
    return f
