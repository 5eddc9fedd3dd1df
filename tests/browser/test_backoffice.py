"""Acceptance of the partners' space in a real Chromium: a partner goes from the
invitation to a published offer that the public search then finds (with
JavaScript: commune autocomplete, map), and a member creates an offer without
JavaScript; axe-core on the back-office pages."""

from __future__ import annotations

import re
import uuid

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from catalogue.accounts import Invitation, Role
from catalogue.db import make_engine, make_sessionmaker
from catalogue.models import Service, Status, Structure
from tests.auth_helpers import DEFAULT_PASSWORD, add_member, make_user
from tests.browser.test_journeys import _axe

pytestmark = pytest.mark.browser

PASSWORD = "une phrase de passe solide"


@pytest.fixture(scope="module")
def partner(browser_database):
    engine = make_engine(browser_database)
    tag = uuid.uuid4().hex[:8]
    with make_sessionmaker(engine)() as db, db.begin():
        structure = db.scalars(select(Structure).where(Structure.code_insee.isnot(None)).order_by(Structure.nom.desc()).limit(1)).one()
        admin = make_user(db, email=f"admin-bo-{tag}@example.org", nom="Alice Admin")
        add_member(db, admin, structure, Role.ADMIN)
        member = make_user(db, email=f"membre-bo-{tag}@example.org", nom="Marc Membre")
        add_member(db, member, structure, Role.MEMBRE)
        data = {"structure_id": structure.id, "structure": structure.nom, "admin": admin.email,
                "member": member.email, "tag": tag}
    yield data | {"engine": engine}
    engine.dispose()


def _serious(page):
    return [v for v in _axe(page) if v["impact"] in ("serious", "critical")]


def _login(page, live_server, email, password=DEFAULT_PASSWORD):
    page.goto(live_server + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server + "/espace")


def test_from_invitation_to_a_published_offer_found_by_the_search(page, page_without_js, live_server, partner):
    # The structure's admin invites a partner.
    admin = page_without_js
    _login(admin, live_server, partner["admin"])
    admin.goto(f"{live_server}/espace/structures/{partner['structure_id']}/membres")
    invitee = f"partenaire-{partner['tag']}@example.org"
    admin.get_by_label("Adresse électronique").fill(invitee)
    admin.get_by_label("Rôle", exact=True).select_option("membre")
    admin.get_by_role("button", name="Envoyer l'invitation").click()
    admin.wait_for_selector(f"text={invitee}")
    with make_sessionmaker(partner["engine"])() as db:
        invitation = db.scalars(select(Invitation).where(Invitation.email == invitee)).one()
        token = URLSafeTimedSerializer("browser-tests", salt="invitation").dumps(
            {"inv": invitation.id, "email": invitation.email})

    # The partner accepts (the link of the e-mail) and lands in the structure.
    page.goto(f"{live_server}/invitation/{token}")
    page.get_by_label("Prénom et nom").fill("Paula Partenaire")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte et rejoindre la structure").click()
    page.wait_for_url(live_server + "/espace")
    page.get_by_role("link", name="Tableau de bord des offres").first.click()
    page.wait_for_url(f"{live_server}/espace/structures/{partner['structure_id']}")
    assert _serious(page) == []
    page.get_by_role("button", name="Créer une offre").click()
    page.wait_for_url(re.compile(r"/services/nouveau$"))
    assert _serious(page) == []

    name = f"Atelier vélo solidaire {partner['tag']}"
    page.get_by_label("Nom de l'offre (obligatoire)").fill(name)
    page.get_by_label("Description").fill("Réparer son vélo pour aller au travail ou en formation.")
    page.get_by_label("Type d'offre").select_option("atelier")
    page.locator("summary").filter(has_text=re.compile(r"^Mobilité$")).click()  # open the SPIE group
    page.get_by_label("Préparer un permis").check()
    page.get_by_label("Jeunes", exact=True).check()
    page.get_by_label("Zone d'éligibilité").fill("Aisne")
    page.get_by_label("En présentiel").check()
    page.get_by_label("Adresse", exact=True).fill("1 place de l'Hôtel de Ville")
    # The commune with the autocomplete.
    commune = page.get_by_label("Commune", exact=True)
    commune.click()
    page.keyboard.type("Laon", delay=30)
    page.wait_for_selector("#commune-suggestions [role=option]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert commune.input_value() == "Laon (02000)"
    # The map is there with JavaScript; a click places the point.
    assert page.locator("#carte-lieu").is_visible()
    box = page.locator("#carte-lieu").bounding_box()
    page.locator("#carte-lieu").click(position={"x": box["width"] / 2 + 20, "y": box["height"] / 2 + 20})
    assert page.get_by_label("Latitude").input_value() != ""
    page.get_by_label("Ligne 1 : premier jour").select_option("Mo")
    page.get_by_label("Ligne 1 : dernier jour").select_option("Fr")
    page.get_by_label("Ligne 1 : heures").fill("09:00-12:00, 14:00-17:00")
    page.get_by_role("button", name="Enregistrer et voir l'aperçu").click()
    page.wait_for_url(re.compile(r"/apercu$"))
    assert page.get_by_role("heading", name=name).is_visible()
    assert page.get_by_text("Du lundi au vendredi de 9 h à 12 h et de 14 h à 17 h").is_visible()
    assert _serious(page) == []
    page.get_by_role("button", name="Publier").click()
    page.wait_for_url(f"{live_server}/espace/structures/{partner['structure_id']}")
    assert page.get_by_text("Offre publiée").is_visible()

    with make_sessionmaker(partner["engine"])() as db:
        service = db.scalars(select(Service).where(Service.nom == name)).one()
        assert service.status == Status.PUBLIE and service.horaires_accueil == "Mo-Fr 09:00-12:00,14:00-17:00"
        assert service.location_precision.value == "source"

    # The public search finds it.
    public = page_without_js
    public.goto(f"{live_server}/recherche?q=atelier+v%C3%A9lo+solidaire+{partner['tag']}&commune=Laon")
    public.get_by_role("link", name=name).first.click()
    public.wait_for_url(re.compile(r"/services/[0-9a-f-]{36}(\?retour=[^#]*)?$"))
    assert public.locator("h1").inner_text() == name


def test_member_creates_and_confirms_without_javascript(page_without_js, live_server, partner):
    page = page_without_js
    _login(page, live_server, partner["member"])
    page.goto(f"{live_server}/espace/structures/{partner['structure_id']}/services/nouveau")
    assert page.locator("#carte-lieu").is_hidden()
    name = f"Permanence numérique {partner['tag']}"
    page.get_by_label("Nom de l'offre (obligatoire)").fill(name)
    page.locator("summary").filter(has_text=re.compile(r"^Illettrisme et illectronisme$")).click()
    page.get_by_label("Accéder à des services en ligne").check()
    page.get_by_label("Zone d'éligibilité").fill("Lion")  # a typo: a clear message, the input kept
    page.get_by_label("Commune", exact=True).fill("Laon")
    page.get_by_role("button", name="Publier").click()
    assert page.get_by_role("alert").get_by_text("Zone d'éligibilité").is_visible()
    assert page.get_by_label("Nom de l'offre (obligatoire)").input_value() == name
    page.get_by_label("Zone d'éligibilité").fill("Laon")
    page.get_by_role("button", name="Publier").click()
    page.wait_for_url(re.compile(r"/modifier$"))
    assert page.get_by_text("Offre publiée").is_visible()
    page.get_by_role("button", name="Rien n'a changé : confirmer l'offre").click()
    assert page.get_by_text("est confirmée à jour aujourd'hui").is_visible()
    page.goto(f"{live_server}/espace/structures/{partner['structure_id']}")
    assert page.get_by_role("link", name=name).first.is_visible()
