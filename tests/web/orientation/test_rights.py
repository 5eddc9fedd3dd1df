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


# --- SPIE prescriptions (rgpd-prescr) -------------------------------------------------------

def _prescription(db, world, **kw):
    from datetime import UTC, date, datetime

    from catalogue import prescription as rx
    from tests.catalogue.test_prescription import form

    referent = world["users"]["membre_a"]
    data = form(personne_nom="Marie Curie", personne_contact="06 12 34 56 78", referent_courriel=referent.email,
                situation="Cherche un emploi ; =1+1", **kw)
    return rx.create(db, referent, data, date.today(), datetime.now(UTC))


def test_the_rights_page_finds_exports_and_erases_a_prescription(client, db, world):
    from catalogue.prescription import PrescriptionRead

    p = _prescription(db, world)
    moderator = world["users"]["moderateur"]
    as_user(client, moderator)
    page = post(client, "/orientations/droits", {**PERSON, "action": "chercher"}).get_data(as_text=True)
    assert "Aucune orientation trouvée" in page and "1 prescription SPIE trouvée" in page
    assert f"/prescriptions/{p.public_id}" in page
    data = json.loads(post(client, "/orientations/droits", {**PERSON, "action": "json"}).get_data())
    assert data["orientations"] == [] and data["prescriptions"][0]["prescription"] == str(p.public_id)
    assert data["prescriptions"][0]["situation"] == "Cherche un emploi ; =1+1"
    r = post(client, "/orientations/droits", {**PERSON, "action": "csv"})
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True).lstrip("\ufeff")
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=";") if row]
    header = rows.index(next(row for row in rows if row and row[0] == "Prescription"))
    assert rows[header + 1][1] == "Marie Curie" and rows[header + 1][4] == "Cherche un emploi ; =1+1"
    # A moderator of another département does not see it.
    as_user(client, world["users"]["moderateur_autre"])
    page = post(client, "/orientations/droits", {**PERSON, "action": "chercher"}).get_data(as_text=True)
    assert "Aucune prescription SPIE trouvée" in page and str(p.public_id) not in page
    data = json.loads(post(client, "/orientations/droits", {**PERSON, "action": "json"}).get_data())
    assert data["prescriptions"] == []
    r = post(client, "/orientations/droits", {**PERSON, "action": "effacer", "confirmer": "oui"})
    assert "0 prescription(s) SPIE effacée(s)" in r.get_data(as_text=True)
    db.refresh(p)
    assert p.anonymised_at is None
    # The team of the territory erases it.
    as_user(client, moderator)
    r = post(client, "/orientations/droits", {**PERSON, "action": "effacer", "confirmer": "oui"})
    assert r.status_code == 200 and "1 prescription(s) SPIE effacée(s)" in r.get_data(as_text=True)
    db.refresh(p)
    assert p.anonymised_at is not None and p.person_contact is None and p.situation_text == ""
    reads = db.scalars(select(PrescriptionRead.what).where(PrescriptionRead.prescription_id == p.id,
                                                           PrescriptionRead.user_id == moderator.id)).all()
    assert {"droits-recherche", "droits-export", "droits-effacement"} <= set(reads)
    as_user(client, world["users"]["membre_a"])  # the prescriber sees that the data are gone
    page = client.get(f"/prescriptions/{p.public_id}").get_data(as_text=True)
    assert "Marie Curie" not in page and "Prescription anonymisée" in page


def test_the_prescription_anonymisation_job(app, db, world):
    from datetime import UTC, datetime, timedelta

    from catalogue.schedule import JOBS
    from web.commands import prescriptions as command

    assert ("prescriptions", "anonymise") in {job.args for job in JOBS}
    old, recent = _prescription(db, world), _prescription(db, world)
    old.status, old.closed_at = "terminee", datetime.now(UTC) - timedelta(days=31 * 25)
    db.commit()
    conf = app.extensions["offre"]["settings"]
    assert conf.prescription_retention_months == 24
    assert command.anonymise(app.extensions["offre"]["sessionmaker"], conf) == 1
    db.refresh(old)
    db.refresh(recent)
    assert old.person_contact is None and old.anonymised_at is not None and recent.anonymised_at is None
