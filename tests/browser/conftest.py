"""Browser tests: the app served from a thread (werkzeug) on a database of its own,
copied from the test template, with the demonstration catalogue loaded and
committed; Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

from catalogue import demo
from catalogue.db import make_engine, make_sessionmaker, set_actor
from tests import dbsetup
from web.app import create_app
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "web/static/vendor/axe/axe.min.js"
ARTIFACTS = ROOT / "var/browser"


@pytest.fixture(scope="session")
def browser_database(pg_server_url, template_db):
    url = dbsetup.create_test_database(pg_server_url, template_db, label="browser_")
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session, session.begin():
        set_actor(session, "test:browser")
        demo.load(session, n_structures=120, n_services=600)
    engine.dispose()
    yield url
    dbsetup.drop_database(pg_server_url, url)


@pytest.fixture(scope="session")
def live_server(browser_database):
    settings = Settings(database_url=browser_database, secret_key="browser-tests", tiles_url="", offre_env="test")
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["offre"]["engine"].dispose()


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium absent : apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(chromium, live_server, **context_options):
    context = chromium.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, **context_options)
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if urlparse(r.url).hostname != "127.0.0.1" else None)
    page.outside_requests = outside
    # What the Content-Security-Policy blocked (Chromium reports it as a console error).
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text else None)
    page.csp_violations = blocked
    return context, page


@pytest.fixture
def page(chromium, live_server):
    context, page = _page(chromium, live_server)
    yield page
    context.close()
    assert page.outside_requests == [], f"requêtes hors du serveur : {page.outside_requests}"
    assert page.csp_violations == [], f"bloqué par la Content-Security-Policy : {page.csp_violations}"


@pytest.fixture
def page_without_js(chromium, live_server):
    context, page = _page(chromium, live_server, java_script_enabled=False)
    yield page
    context.close()
    assert page.outside_requests == []


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
