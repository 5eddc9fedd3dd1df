"""A SPIE prescription in a real Chromium: a referent of a partner fills the form,
the SPIE team turns it into a CTO situation on a committee's agenda in one click
(pseudonymised), records an action, the referent sees the plan's progress; axe-core
on every page, screenshots at 390 and 1280 px."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from catalogue import cto
from catalogue.accounts import Role
from catalogue.db import make_engine, make_sessionmaker
from catalogue.models import Structure
from tests.auth_helpers import add_member, make_user
from tests.browser.test_cto import _login, _serious

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def people(browser_database):
    engine = make_engine(browser_database)
    tag = uuid.uuid4().hex[:8]
    with make_sessionmaker(engine)() as db, db.begin():
        db.execute(text("INSERT INTO geo_territory (slug, nom, communes) VALUES ('spie-laonnois', 'Laonnois (SPIE)', "
                        "ARRAY['02408']::varchar[]) ON CONFLICT (slug) DO NOTHING"))
        structure = db.scalars(select(Structure).order_by(Structure.nom).limit(1)).one()
        referent = make_user(db, email=f"referente-{tag}@example.org", nom="Rita Référente")
        add_member(db, referent, structure, Role.MEMBRE)
        team = make_user(db, email=f"equipe-{tag}@example.org", nom="Équipe SPIE")
        cto.grant(db, team.id, territory_slug="spie-laonnois")
        committee = cto.create_committee(db, "spie-laonnois", date.today() + timedelta(days=25), None)
        data = {"referent": referent.email, "team": team.email, "committee": str(committee.public_id), "tag": tag}
    engine.dispose()
    return data


def _shots(page, artifacts, name):
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"prescription-{name}-{width}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width + 1, f"{name} déborde à {width} px ({scroll} px)"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_prescription_becomes_a_cto_situation(page, live_server, people, artifacts):
    person = f"Camille Martin {people['tag']}"
    _login(page, live_server, people["referent"])
    page.get_by_role("link", name="Prescriptions SPIE").first.click()
    page.get_by_role("link", name="Prescrire une personne").click()
    assert _serious(page) == []
    page.get_by_label("Territoire du SPIE").select_option("spie-laonnois")
    page.get_by_label("Nom ou initiales").fill(person)
    page.get_by_role("textbox", name=re.compile("^Situation")).fill("Sans emploi depuis deux ans, deux enfants, sans permis.")
    page.get_by_label("Mobilité", exact=True).check()
    page.get_by_label("Garde d'enfant", exact=True).check()
    page.get_by_label("Mardi").check()
    page.get_by_label("Votre structure").fill("Mission locale")
    page.get_by_role("checkbox", name=re.compile("^La personne a donné son accord")).check()
    _shots(page, artifacts, "formulaire")
    page.get_by_role("button", name="Envoyer la prescription à l'équipe du SPIE").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"Prescription de {person}"
    prescription_url = page.url
    assert person.split()[0] not in prescription_url
    assert "Envoyée à l'équipe du SPIE" in page.locator(".status-line").inner_text()
    assert _serious(page) == []

    # The SPIE team: its list, then one click to the committee's agenda.
    _login(page, live_server, people["team"])
    page.goto(live_server + "/cto/prescriptions")
    assert _serious(page) == []
    page.get_by_role("link", name=person).click()
    page.get_by_role("button", name="Inscrire à l'ordre du jour").click()
    page.wait_for_load_state()
    assert "Inscrite à un comité" in page.locator(".status-line").inner_text()
    reference = re.search(r"SPIE-\d{4}-[0-9A-F]{6}", page.locator(".status-line").inner_text()).group(0)
    page.get_by_label(re.compile("^Action")).fill("Auto-école sociale : premier rendez-vous")
    page.get_by_label("Frein").select_option("mobilite")
    page.get_by_role("button", name="Ajouter au plan").click()
    page.wait_for_load_state()
    assert "Plan d'action décidé" in page.locator(".status-line").inner_text()
    _shots(page, artifacts, "fiche-equipe")
    assert _serious(page) == []
    page.goto(live_server + f"/cto/comites/{people['committee']}")
    agenda = page.locator("main").inner_text()
    assert reference in agenda and person not in agenda

    # The referent follows the plan.
    _login(page, live_server, people["referent"])
    page.goto(live_server + "/prescriptions")
    row = page.locator("tr", has_text=person)
    assert "Plan d'action décidé" in row.inner_text() and "0 action(s) réalisée(s) sur 1" in row.inner_text()
    _shots(page, artifacts, "mes-prescriptions")
    assert _serious(page) == []
    page.goto(prescription_url)
    assert "Auto-école sociale" in page.locator("main").inner_text()


def test_steering_page(page, live_server, people, artifacts):
    _login(page, live_server, people["team"])
    page.goto(live_server + "/pilotage/prescriptions")
    assert page.locator("h1").inner_text() == "Prescriptions SPIE par cohorte"
    _shots(page, artifacts, "pilotage")
    assert _serious(page) == []


def test_levers_tell_the_truth_in_a_rural_commune(page, live_server, people, artifacts):
    """Aubenton without a vehicle: on-site and remote answers apart, no distance among
    the remote ones, barriers without an on-site answer flagged."""
    _login(page, live_server, people["team"])
    page.goto(live_server + "/cto/leviers")
    page.get_by_label("Commune où vit la personne").fill("Aubenton")
    page.get_by_label("Mobilité", exact=True).check()
    page.get_by_label("Garde d'enfant", exact=True).check()
    page.get_by_role("checkbox", name=re.compile("Sans véhicule")).check()
    page.get_by_role("button", name="Trouver des leviers et enregistrer la liste").click()
    page.wait_for_load_state()
    assert "/cto/listes/" in page.url, page.locator(".form-errors").all_inner_texts()
    for section in page.locator("section.barrier").all():
        assert section.locator("h3", has_text="Sur place, à moins de 10 km").count() <= 1
        remote = section.locator("h3", has_text="À distance")
        if remote.count():
            after = section.inner_text().split("À distance", 1)[1]
            assert not re.search(r"à \d+(,\d)? km", after), after[:300]
    _shots(page, artifacts, "leviers-aubenton")
    assert _serious(page) == []
