"""The orientation journey in a real Chromium: a referent orients a person from an
offer's page, the structure refuses with a reason, the referent sees it in « Mes
orientations ». Screenshots of each page at 390 and 1280 px (var/browser), and
axe-core finds no serious violation."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import any_, select

from catalogue.accounts import Role
from catalogue.db import make_engine, make_sessionmaker
from catalogue.models import Service, Status, Structure
from tests.auth_helpers import DEFAULT_PASSWORD, add_member, make_user
from tests.browser.test_journeys import _axe

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def people(browser_database):
    engine = make_engine(browser_database)
    tag = uuid.uuid4().hex[:8]
    with make_sessionmaker(engine)() as db, db.begin():
        service = db.scalars(
            select(Service).join(Structure, Structure.id == Service.structure_id)
            .where(any_(Service.mobilisable_par) == "professionnels", Service.status == Status.PUBLIE,
                   Structure.status == Status.PUBLIE, Service.duplicate_hidden.is_(False))
            .order_by(Service.nom).limit(1)).one()
        referent = make_user(db, email=f"referente-{tag}@example.org", nom="Rose Référente")
        member = make_user(db, email=f"accueil-{tag}@example.org", nom="Marc Accueil")
        add_member(db, member, service.structure, Role.MEMBRE)
        spie = make_user(db, email=f"spie-{tag}@example.org", is_admin=True)
        data = {"service_id": service.id, "structure": service.structure.nom, "referent": referent.email,
                "member": member.email, "spie": spie.email}
    yield data
    engine.dispose()


def _login(page, live_server, email):
    page.goto(live_server + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server + "/espace")


def _shots(page, artifacts, name):
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"orientation-{name}-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, f"{name} déborde à {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def _serious(page):
    return [v for v in _axe(page) if v["impact"] in ("serious", "critical")]


def test_orient_refuse_and_see_it(chromium, live_server, people, artifacts):
    referent_ctx = chromium.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    member_ctx = chromium.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    referent, member = referent_ctx.new_page(), member_ctx.new_page()
    try:
        # The referent orients a person from the offer's page.
        _login(referent, live_server, people["referent"])
        referent.goto(f"{live_server}/services/{people['service_id']}")
        referent.get_by_role("button", name="Orienter une personne").click()
        referent.wait_for_url(f"{live_server}/services/{people['service_id']}/orienter")
        _shots(referent, artifacts, "formulaire")
        assert _serious(referent) == []
        referent.get_by_label("Nom ou initiales de la personne").fill("Léa Martin")
        referent.get_by_label("Contact de la personne pour la structure").fill("06 98 76 54 32")
        referent.locator("input[name=besoins]").first.check()
        referent.get_by_label("Message à la structure").fill("Souhaite commencer au plus vite.")
        referent.locator("input[name=consentement]").check()
        referent.get_by_role("button", name="Envoyer l'orientation").click()
        referent.wait_for_selector("text=Envoyée, en attente de réponse")
        assert "Léa" not in referent.url
        detail_url = referent.url

        # The structure finds it in its inbox and refuses it with a reason.
        _login(member, live_server, people["member"])
        member.goto(live_server + "/orientations/recues")
        _shots(member, artifacts, "recues")
        member.get_by_role("link", name="Léa Martin").click()
        member.wait_for_url(detail_url)
        _shots(member, artifacts, "detail-structure")
        assert _serious(member) == []
        member.get_by_label("Motif du refus").select_option("complet")
        member.get_by_label("Précisions").fill("Prochaine session en mars.")
        member.get_by_role("button", name="Refuser l'orientation").click()
        member.wait_for_selector("text=Statut : Refusée")

        # The referent sees it.
        referent.goto(live_server + "/orientations")
        row = referent.locator("tr", has_text="Léa Martin")
        assert "Refusée" in row.inner_text() and "Plus de place disponible" in row.inner_text()
        _shots(referent, artifacts, "mes-orientations")
        assert _serious(referent) == []
        referent.get_by_role("link", name="Léa Martin").click()
        referent.wait_for_selector("text=Prochaine session en mars.")
        _shots(referent, artifacts, "detail-referent")
    finally:
        referent_ctx.close()
        member_ctx.close()


def test_the_steering_page(page, live_server, people, artifacts):
    _login(page, live_server, people["spie"])
    page.goto(live_server + "/pilotage/orientations")
    page.wait_for_selector("h1:has-text('Orientations')")
    _shots(page, artifacts, "pilotage")
    assert _serious(page) == []
