"""The plan of a SPIE prescription records its orientations as orientations: the
action « orientation » towards an offer sends it to the structure (e-mail, inbox),
in the prescriber's name, with the person's data and consent of the prescription;
the prescriber follows the answer in « Mes orientations »."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, text

from catalogue import prescription as rx
from catalogue.orientation import Orientation
from catalogue.prescription import PlanAction
from tests.web.cto.conftest import make_territory
from tests.web.orientation.conftest import as_user, mails, post


def _prescription(db, referent):
    if not db.scalar(text("SELECT 1 FROM geo_territory WHERE slug = 'laonnois'")):
        make_territory(db, "laonnois", "Laonnois", ["02408"])
    return rx.create(db, referent, {
        "territoire": "laonnois", "cohorte": f"{date.today():%Y-%m}", "personne_nom": "Camille Martin",
        "situation": "Sans permis, un emploi possible à Laon.", "freins": ["mobilite"],
        "referent_nom": "Ré Férente", "referent_courriel": "verifie@example.org", "consentement": "oui",
        "consentement_par": "personne", "consentement_date": date.today().isoformat()},
        date.today(), datetime.now(UTC))


def test_a_plan_orientation_is_sent_to_the_structure_and_followed_by_the_prescriber(client, db, world, smtp):
    referent, team = world["users"]["verifie"], world["users"]["administrateur"]
    p = _prescription(db, referent)
    db.commit()
    as_user(client, team)
    r = post(client, f"/cto/prescriptions/{p.public_id}/plan", {
        "type": "orientation", "frein": "mobilite", "description": "Préparer le permis",
        "offre": f"http://localhost/services/{world['a_pub'].id}"})
    assert r.status_code == 303
    action = db.scalar(select(PlanAction))
    orientation = db.scalar(select(Orientation))
    assert action.orientation_id == orientation.public_id
    assert orientation.referent_id == referent.id and orientation.person_name == "Camille Martin"
    assert orientation.structure_id == world["a"].id and orientation.source == f"prescription:{p.public_id}"
    # No contact of the person on the prescription: the structure goes through the referent.
    assert orientation.person_contact == "Par l'intermédiaire du référent : verifie@example.org"
    # The structure is told by e-mail, without the person's name.
    told = [m for m in mails(smtp, 1) if "membre-a@example.org" in m["To"]]
    assert told and "Camille" not in told[0].get_content()
    # The prescription's page links to it; the prescriber follows it.
    page = client.get(f"/prescriptions/{p.public_id}").get_data(as_text=True)
    assert f"/orientations/{orientation.public_id}" in page
    as_user(client, referent)
    assert "Structure A" in client.get("/orientations").get_data(as_text=True)


def test_a_plan_orientation_needs_an_offer_that_receives_orientations(client, db, world, smtp, factories):
    p = _prescription(db, world["users"]["verifie"])
    db.commit()
    as_user(client, world["users"]["administrateur"])
    # Without an offer: an orientation outside the catalogue, recorded, nothing sent.
    post(client, f"/cto/prescriptions/{p.public_id}/plan", {"type": "orientation", "description": "Vers la crèche"})
    assert db.scalar(select(PlanAction)).orientation_id is None and db.scalar(select(Orientation)) is None
    # A structure without any member to receive it: refused, named, nothing written.
    alone = factories.ServiceFactory(structure=factories.StructureFactory(nom="Structure sans compte"))
    db.commit()
    post(client, f"/cto/prescriptions/{p.public_id}/plan", {
        "type": "orientation", "description": "Orienter", "offre": str(alone.id)})
    page = client.get(f"/prescriptions/{p.public_id}").get_data(as_text=True)
    assert "orientation impossible" in page
    assert len(db.scalars(select(PlanAction)).all()) == 1 and db.scalar(select(Orientation)) is None
