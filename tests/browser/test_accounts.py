"""Accounts in a real Chromium: a structure admin logs in and invites a person,
who accepts without JavaScript and lands in the structure; axe-core on the
account pages."""

from __future__ import annotations

import uuid

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from catalogue.accounts import Invitation, Role
from catalogue.db import make_engine, make_sessionmaker
from catalogue.models import Structure
from tests.auth_helpers import DEFAULT_PASSWORD, add_member, make_user
from tests.browser.test_journeys import _axe

pytestmark = pytest.mark.browser

PASSWORD = "une phrase de passe solide"


@pytest.fixture(scope="module")
def accounts(browser_database):
    """A structure of the demo catalogue and its admin, committed."""
    engine = make_engine(browser_database)
    tag = uuid.uuid4().hex[:8]
    with make_sessionmaker(engine)() as db, db.begin():
        structure = db.scalars(select(Structure).order_by(Structure.nom).limit(1)).one()
        admin = make_user(db, email=f"admin-{tag}@example.org", nom="Alice Admin")
        add_member(db, admin, structure, Role.ADMIN)
        data = {"structure_id": structure.id, "structure": structure.nom, "admin": admin.email, "tag": tag}
    yield data | {"engine": engine}
    engine.dispose()


def _serious(page):
    return [v for v in _axe(page) if v["impact"] in ("serious", "critical")]


def test_invitation_journey(page, page_without_js, live_server, accounts):
    page.goto(live_server + "/connexion")
    assert _serious(page) == []
    page.get_by_label("Adresse électronique").fill(accounts["admin"])
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server + "/espace")
    assert page.get_by_role("heading", name=accounts["structure"]).is_visible()
    assert _serious(page) == []

    page.get_by_role("link", name="Gérer les membres et les invitations").first.click()
    page.wait_for_url(f"{live_server}/espace/structures/{accounts['structure_id']}/membres")
    assert _serious(page) == []
    invitee = f"bruno-{accounts['tag']}@example.org"
    page.get_by_label("Adresse électronique").fill(invitee)
    page.get_by_label("Rôle", exact=True).select_option("membre")
    page.get_by_role("button", name="Envoyer l'invitation").click()
    page.wait_for_selector(f"text={invitee}")

    with make_sessionmaker(accounts["engine"])() as db:
        invitation = db.scalars(select(Invitation).where(Invitation.email == invitee)).one()
        token = URLSafeTimedSerializer("browser-tests", salt="invitation").dumps(
            {"inv": invitation.id, "email": invitation.email}
        )

    other = page_without_js
    other.goto(f"{live_server}/invitation/{token}")
    assert other.get_by_role("heading", name=f"Rejoindre « {accounts['structure']} »").is_visible()
    other.get_by_label("Prénom et nom").fill("Bruno Nouveau")
    other.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    other.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    other.get_by_role("button", name="Créer mon compte et rejoindre la structure").click()
    other.wait_for_url(live_server + "/espace")
    assert other.get_by_role("heading", name=accounts["structure"]).is_visible()
    assert other.get_by_text("Votre rôle : membre").first.is_visible()

    page.reload()
    assert page.locator("table").get_by_text("Bruno Nouveau").is_visible()
    assert page.get_by_text("Aucune invitation en attente.").is_visible()


@pytest.mark.parametrize("path", ["/inscription", "/mot-de-passe-oublie", "/connexion?next=/espace"])
def test_axe_on_public_account_pages(page, live_server, path):
    page.goto(live_server + path)
    assert _serious(page) == []


def test_axe_on_join_page(page, live_server, accounts):
    page.goto(live_server + "/connexion")
    page.get_by_label("Adresse électronique").fill(accounts["admin"])
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server + "/espace")
    page.goto(live_server + "/espace/rejoindre?q=" + accounts["structure"][:6])
    assert page.get_by_role("heading", name=accounts["structure"]).first.is_visible()
    assert _serious(page) == []
    page.goto(live_server + "/espace/mot-de-passe")
    assert _serious(page) == []
