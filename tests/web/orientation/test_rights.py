"""The rights of the person (access, erasure), exercised by the SPIE team of the
territory; the search is a POST (no personal datum in a URL) and is logged."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from catalogue.orientation import Orientation, PersonalDataAccess
from tests.web.orientation.conftest import as_user, post

PERSON = {"nom": "marie curie", "contact": "06 12 34 56 78"}


def test_only_the_spie_team_opens_the_page(client, world):
    for role in ("verifie", "membre_a", "membre_cto_a"):
        as_user(client, world["users"][role])
        assert client.get("/orientations/droits").status_code == 403, role
        assert post(client, "/orientations/droits", {**PERSON, "action": "json"}).status_code == 403
    as_user(client, world["users"]["moderateur"])
    assert client.get("/orientations/droits").status_code == 200


def test_find_export_and_erase(client, db, world, sent):
    moderator = world["users"]["moderateur"]
    as_user(client, moderator)
    page = post(client, "/orientations/droits", {**PERSON, "action": "chercher"}).get_data(as_text=True)
    assert "1 orientation trouvée" in page and sent["public_id"] in page
    r = post(client, "/orientations/droits", {**PERSON, "action": "json"})
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    data = json.loads(r.get_data())
    assert data["orientations"][0]["contact"] == "06 12 34 56 78"
    assert data["orientations"][0]["historique"][0]["etape"] == "Orientation envoyée"
    r = post(client, "/orientations/droits", {**PERSON, "action": "csv"})
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[1][1] == "Marie Curie"
    # A moderator of another département finds nothing.
    as_user(client, world["users"]["moderateur_autre"])
    assert "Aucune orientation trouvée" in post(client, "/orientations/droits",
                                                {**PERSON, "action": "chercher"}).get_data(as_text=True)
    as_user(client, moderator)
    r = post(client, "/orientations/droits", {**PERSON, "action": "effacer"})
    assert r.status_code == 400 and "Confirmation" in r.get_data(as_text=True)
    r = post(client, "/orientations/droits", {**PERSON, "action": "effacer", "confirmer": "oui"})
    assert r.status_code == 200 and "1 orientation(s) effacée(s)" in r.get_data(as_text=True)
    found = db.scalar(select(Orientation).where(Orientation.public_id == sent["public_id"]))
    db.refresh(found)
    assert found.person_name is None and found.anonymised_at is not None
    actions = db.scalars(select(PersonalDataAccess.action).where(
        PersonalDataAccess.orientation_id == found.id, PersonalDataAccess.user_id == moderator.id)).all()
    assert {"recherche", "export", "effacement"} <= set(actions)
    # The referent sees that the data are gone.
    as_user(client, sent["referent"])
    assert "Données effacées" in client.get("/orientations").get_data(as_text=True)


def test_bad_input(client, world):
    as_user(client, world["users"]["moderateur"])
    r = post(client, "/orientations/droits", {"nom": "", "contact": "x", "action": "chercher"})
    assert r.status_code == 400 and "Nom ou initiales : obligatoire" in r.get_data(as_text=True)
    r = post(client, "/orientations/droits", {**PERSON, "action": "tout"})
    assert r.status_code == 400 and "action" in r.get_data(as_text=True)
