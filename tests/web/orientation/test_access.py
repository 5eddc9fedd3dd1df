"""Who reads an orientation: the referent, the receiving structure's members and the
SPIE team of its territory — nobody else (a member of another structure, a
moderator of another département, a CTO member, a registered account: 404, the
orientation's existence not even told). Every read of the person's data is logged."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from catalogue.orientation import Orientation, PersonalDataAccess
from tests.web.orientation.conftest import as_user, post

READERS = {"verifie", "membre_a", "admin_a", "moderateur", "administrateur"}
OTHERS = {"membre_b", "moderateur_autre", "membre_cto_a"}


def _accesses(db, public_id) -> list[tuple[int, str]]:
    found = db.scalar(select(Orientation).where(Orientation.public_id == uuid.UUID(public_id)))
    return list(db.execute(select(PersonalDataAccess.user_id, PersonalDataAccess.action)
                           .where(PersonalDataAccess.orientation_id == found.id).order_by(PersonalDataAccess.id)))


@pytest.mark.parametrize("role", sorted(READERS | OTHERS))
def test_who_reads_an_orientation(client, db, world, sent, role):
    user = world["users"][role]
    as_user(client, user)
    r = client.get(sent["url"])
    if role in READERS:
        assert r.status_code == 200 and "Marie Curie" in r.get_data(as_text=True)
        if role in ("moderateur", "administrateur"):  # the SPIE team sees who read it
            assert f"{user.email} — detail" in r.get_data(as_text=True)
        assert (user.id, "detail") in _accesses(db, sent["public_id"])
    else:
        assert r.status_code == 404
        assert "Marie Curie" not in r.get_data(as_text=True)
        assert all(uid != user.id for uid, _ in _accesses(db, sent["public_id"]))
    # Nobody but the structure's members answers; nobody but the referent replies.
    r = post(client, sent["url"] + "/decision", {"decision": "accepter"})
    if role in ("membre_a", "admin_a"):
        assert r.status_code == 302
    else:
        assert r.status_code in (403, 404), role
    r = post(client, sent["url"] + "/reponse", {"reponse": "intrusion"})
    assert r.status_code in (400, 403, 404) if role == "verifie" else r.status_code in (403, 404)


def test_anonymous_goes_to_the_login_page(client, world, sent):
    as_user(client, None)
    for url in (sent["url"], "/orientations", "/orientations/recues", f"/services/{world['a_pub'].id}/orienter",
                "/orientations/droits"):
        r = client.get(url)
        assert r.status_code == 302 and "/connexion" in r.headers["Location"], url
    r = post(client, sent["url"] + "/decision", {"decision": "accepter"})
    assert r.status_code == 302 and "/connexion" in r.headers["Location"]


def test_an_unknown_orientation_is_a_404(client, world):
    as_user(client, world["users"]["administrateur"])
    assert client.get(f"/orientations/{uuid.uuid4()}").status_code == 404
    assert client.get("/orientations/42").status_code == 404  # no sequential id


def test_lists_show_only_ones_own_and_log_the_reads(client, db, world, sent):
    as_user(client, world["users"]["membre_b"])
    assert "Marie Curie" not in client.get("/orientations/recues").get_data(as_text=True)
    assert "Marie Curie" not in client.get("/orientations").get_data(as_text=True)
    as_user(client, world["users"]["membre_a"])
    assert "Marie Curie" in client.get("/orientations/recues").get_data(as_text=True)
    assert (world["users"]["membre_a"].id, "liste") in _accesses(db, sent["public_id"])


def test_a_non_orientable_offer_has_no_form(client, db, world, factories):
    as_user(client, world["users"]["verifie"])
    users_only = factories.ServiceFactory(structure=world["a"], mobilisable_par=["usagers"])
    db.commit()
    r = client.get(f"/services/{users_only.id}/orienter")
    assert r.status_code == 403 and "ne reçoit pas" in r.get_data(as_text=True)
    assert client.get(f"/services/{world['b_draft'].id}/orienter").status_code == 404
