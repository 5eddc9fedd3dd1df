"""Moderation is the same by every path: an offer published through the partners'
API enters the moderation queue as one published by the back-office form, and
follows MODERATION_BEFORE_PUBLISH (issue #15, point 8)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from catalogue import moderation, tokens
from catalogue.accounts import ModerationItem
from catalogue.models import Service, Status
from tests.auth_helpers import make_user
from tests.web.api.test_partners import BODY


def _auth(db, structure):
    _, plain = tokens.create_token(db, structure.id, scopes=("read", "write"), name="Logiciel du partenaire")
    db.commit()
    return {"Authorization": f"Bearer {plain}"}


def _items(db, service_id) -> list[ModerationItem]:
    return list(db.scalars(select(ModerationItem).where(ModerationItem.service_id == service_id,
                                                        ModerationItem.kind == moderation.NOUVELLE_OFFRE)))


@pytest.fixture
def before_publish(app):
    def switch(on: bool):
        settings = app.extensions["offre"]["settings"]
        app.extensions["offre"]["settings"] = settings.replace(moderation_before_publish=on)

    return switch


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_an_offer_published_through_the_api_enters_the_queue(client, db, factories, method):
    structure = factories.StructureFactory()
    auth = _auth(db, structure)
    base = f"/api/v1/structures/{structure.id}/services"
    if method == "PUT":
        r = client.put(base + "/atelier-1", json=BODY, headers=auth)
    else:
        r = client.post(base, json={**BODY, "partner_id": "atelier-1"}, headers=auth)
    assert r.status_code == 201, r.json
    assert r.json["status"] == "publie"
    service_id = uuid.UUID(r.json["id"])
    items = _items(db, service_id)
    assert len(items) == 1 and items[0].status == moderation.A_TRAITER
    assert items[0].structure_id == structure.id
    # Replacing it changes nothing in the queue (as saving a published offer in the form).
    r = client.put(base + "/atelier-1", json={**BODY, "nom": "Atelier CV"}, headers=auth)
    assert r.status_code == 200
    assert len(_items(db, service_id)) == 1


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_before_publish_an_api_offer_waits_for_a_moderator(client, db, factories, before_publish, method):
    before_publish(True)
    structure = factories.StructureFactory()
    auth = _auth(db, structure)
    base = f"/api/v1/structures/{structure.id}/services"
    if method == "PUT":
        r = client.put(base + "/atelier-2", json=BODY, headers=auth)
    else:
        r = client.post(base, json={**BODY, "partner_id": "atelier-2"}, headers=auth)
    assert r.status_code == 201, r.json
    assert r.json["status"] == "brouillon"
    service_id = uuid.UUID(r.json["id"])
    assert db.get(Service, service_id).status == Status.BROUILLON
    assert len(_items(db, service_id)) == 1
    # Not public meanwhile.
    assert client.get(f"/api/v1/services/{service_id}").status_code == 404
    assert client.get(f"/services/{service_id}").status_code == 404
    # Sending it again does not queue it twice, nor publish it.
    r = client.put(base + "/atelier-2", json={**BODY, "nom": "Atelier CV modifié"}, headers=auth)
    assert r.status_code == 200 and r.json["status"] == "brouillon"
    assert len(_items(db, service_id)) == 1


def test_a_restored_api_offer_goes_through_moderation_again(client, db, factories, before_publish):
    structure = factories.StructureFactory()
    auth = _auth(db, structure)
    url = f"/api/v1/structures/{structure.id}/services/atelier-3"
    assert client.put(url, json=BODY, headers=auth).status_code == 201
    service_id = db.scalar(select(Service.id).where(Service.source_id == "atelier-3"))
    # A moderator publishes it, then the partner archives it.
    item = _items(db, service_id)[0]
    moderator = make_user(db, email="moderatrice@example.org", is_admin=True)
    moderation.decide(db, moderator, item, moderation.PUBLIER)
    db.commit()
    assert client.delete(url, headers=auth).status_code == 204
    before_publish(True)
    r = client.put(url, json=BODY, headers=auth)
    assert r.status_code == 200 and r.json["status"] == "brouillon"
    pending = [i for i in _items(db, service_id) if i.status == moderation.A_TRAITER]
    assert len(pending) == 1
