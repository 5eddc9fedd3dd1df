"""The rights of a prescribed person in a real Chromium: the SPIE team finds the
person's SPIE prescription on /orientations/droits by name and contact, then erases
it; the prescription page says the data are gone. axe-core on each page,
screenshots at 390 and 1280 px."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text

from catalogue import prescription as rx
from catalogue.accounts import Role
from catalogue.db import make_engine, make_sessionmaker
from catalogue.models import Structure
from tests.auth_helpers import add_member, make_user
from tests.browser.test_cto import _login, _serious
from tests.catalogue.test_prescription import form

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def prescribed(browser_database):
    engine = make_engine(browser_database)
    tag = uuid.uuid4().hex[:8]
    with make_sessionmaker(engine)() as db, db.begin():
        db.execute(text("INSERT INTO geo_territory (slug, nom, communes) VALUES ('laonnois', 'Laonnois', "
                        "ARRAY['02408']::varchar[]) ON CONFLICT (slug) DO NOTHING"))
        structure = db.scalars(select(Structure).order_by(Structure.nom).limit(1)).one()
        referent = make_user(db, email=f"referente-droits-{tag}@example.org", nom="Rita Référente")
        add_member(db, referent, structure, Role.MEMBRE)
        admin = make_user(db, email=f"admin-droits-{tag}@example.org", nom="Équipe SPIE", is_admin=True)
        name = f"Camille Droits {tag}"
        p = rx.create(db, referent, form(personne_nom=name, personne_contact=f"camille-{tag}@example.org",
                                         referent_courriel=referent.email), date.today(), datetime.now(UTC))
        data = {"admin": admin.email, "name": name, "contact": p.person_contact, "id": str(p.public_id)}
    engine.dispose()
    return data


def _shots(page, artifacts, name):
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"prescription-droits-{name}-{width}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width + 1, f"{name} déborde à {width} px ({scroll} px)"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_team_finds_and_erases_a_prescription(page, live_server, prescribed, artifacts):
    _login(page, live_server, prescribed["admin"])
    page.goto(live_server + "/orientations/droits")
    page.get_by_label("Nom ou initiales").fill(prescribed["name"])
    page.get_by_label("Contact").fill(prescribed["contact"])
    page.get_by_role("button", name="Chercher").click()
    page.wait_for_load_state()
    assert "1 prescription SPIE trouvée" in page.content().replace("\u00a0", " ")
    assert prescribed["name"] not in page.url
    assert _serious(page) == []
    _shots(page, artifacts, "trouvee")
    page.get_by_label("Je confirme l'effacement").check()
    page.get_by_role("button", name="Effacer ses données").click()
    page.wait_for_load_state()
    assert "1 prescription(s) SPIE effacée(s)" in page.content()
    page.goto(live_server + f"/prescriptions/{prescribed['id']}")
    assert "Les données de la personne ont été effacées" in page.content()
    assert prescribed["name"] not in page.content()
    assert _serious(page) == []
    _shots(page, artifacts, "effacee")
