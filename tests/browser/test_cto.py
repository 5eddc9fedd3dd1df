"""The CTO and steering pages in a real Chromium: the coverage choropleth drawn
from our own Leaflet (no request elsewhere), « Trouver des leviers » without
JavaScript, axe-core on the main pages."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from catalogue.db import make_engine, make_sessionmaker
from tests.auth_helpers import DEFAULT_PASSWORD, make_user
from tests.browser.test_journeys import _axe

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def steering_admin(browser_database):
    engine = make_engine(browser_database)
    email = f"pilotage-{uuid.uuid4().hex[:8]}@example.org"
    with make_sessionmaker(engine)() as db, db.begin():
        make_user(db, email=email, is_admin=True, nom="Équipe SPIE")
        db.execute(text("INSERT INTO geo_territory (slug, nom, communes) VALUES ('cto-laonnois', 'Laonnois (CTO)', "
                        "ARRAY['02408']::varchar[]) ON CONFLICT (slug) DO NOTHING"))
    engine.dispose()
    return email


def _login(page, live_server, email):
    page.goto(live_server + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def _serious(page):
    return [v for v in _axe(page) if v["impact"] in ("serious", "critical")]


def test_coverage_map_of_the_departement(page, live_server, steering_admin, artifacts):
    _login(page, live_server, steering_admin)
    page.goto(live_server + "/pilotage/couverture?departement=02&thematique=mobilite&rayon=10")
    page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")
    shapes = page.locator(".leaflet-overlay-pane path.leaflet-interactive").count()
    assert shapes > 700  # every commune of the Aisne
    rows = page.locator("table.gaps tbody tr").count()
    heading = page.locator("#zones-blanches").inner_text()
    assert heading.startswith(f"{rows} commune")
    page.locator(".map-box").screenshot(path=str(artifacts / "couverture.png"))
    assert _serious(page) == []


def test_levers_without_javascript(page_without_js, live_server, steering_admin):
    page = page_without_js
    _login(page, live_server, steering_admin)
    page.goto(live_server + "/cto/leviers")
    page.get_by_label("Commune où vit la personne").fill("Laon")
    page.get_by_label("Mobilité", exact=True).check()
    page.get_by_label("Santé", exact=True).check()
    page.get_by_role("checkbox", name=re.compile("Sans véhicule")).check()
    page.get_by_role("button", name="Trouver des leviers et enregistrer la liste").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Leviers pour une situation"
    assert "/cto/listes/" in page.url
    assert page.locator("h2", has_text="Mobilité").count() == 1
    # Not shared until its author chooses to, then by a link of its own.
    page.get_by_role("button", name="Créer un lien de partage").click()
    page.wait_for_load_state()
    assert "/cto/partage/" in page.get_by_label(re.compile("^Lien de partage")).input_value()


def test_axe_on_cto_pages(page, live_server, steering_admin):
    _login(page, live_server, steering_admin)
    for path in ("/cto", "/cto/leviers", "/cto/comites", "/cto/acces", "/pilotage", "/pilotage/demande",
                 "/pilotage/couverture/synthese"):
        page.goto(live_server + path)
        assert _serious(page) == [], path


def test_committee_journey_without_javascript(page_without_js, page, live_server, steering_admin):
    browser = page_without_js
    _login(browser, live_server, steering_admin)
    browser.goto(live_server + "/cto/leviers")
    browser.get_by_label("Commune où vit la personne").fill("Laon")
    browser.get_by_label("Logement", exact=True).check()
    browser.get_by_role("button", name="Trouver des leviers et enregistrer la liste").click()
    browser.wait_for_load_state()
    shortlist_url = browser.url
    browser.goto(live_server + "/cto/comites")
    browser.get_by_label("Territoire").select_option("cto-laonnois")
    browser.get_by_label("Date du comité").fill((date.today() + timedelta(days=20)).isoformat())
    browser.get_by_role("button", name="Créer le comité").click()
    browser.wait_for_load_state()
    committee_url = browser.url
    assert "/cto/comites/" in committee_url
    browser.goto(shortlist_url)
    browser.get_by_label("Comité", exact=True).select_option(index=0)
    browser.get_by_label(re.compile("^Référence interne")).fill("CTO-2027-001")
    browser.get_by_role("button", name="Inscrire").click()
    browser.wait_for_load_state()
    assert browser.locator("table tbody tr").first.inner_text().startswith("1")
    assert "CTO-2027-001" in browser.locator("table").first.inner_text()
    # axe-core (it needs JavaScript) on the committee and the shortlist pages
    _login(page, live_server, steering_admin)
    for url in (committee_url, shortlist_url):
        page.goto(url)
        assert _serious(page) == [], url
