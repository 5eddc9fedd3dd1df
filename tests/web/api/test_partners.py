"""Write API for partners: bearer tokens per structure, scopes, idempotent PUT,
validation and audit as in the back-office."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from catalogue import tokens
from catalogue.models import AuditLog, Service, Status

BODY = {
    "nom": "Atelier CV et lettre de motivation",
    "description": "Un atelier collectif pour écrire son CV et sa lettre de motivation.",
    "thematiques": ["preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation"],
    "publics": ["tous-publics"],
    "modes_accueil": ["en-presentiel"],
    "code_insee": "02408",
    "zone_eligibilite": ["02"],
    "frais": "gratuit",
}


def _token(db, structure, *scopes):
    _, plain = tokens.create_token(db, structure.id, scopes=scopes or ("read", "write"), name="test")
    return {"Authorization": f"Bearer {plain}"}


def test_put_creates_then_replaces_idempotently_and_is_audited(client, db, factories):
    structure = factories.StructureFactory()
    auth = _token(db, structure)
    url = f"/api/v1/structures/{structure.id}/services/atelier-cv-1"

    r = client.put(url, json=BODY, headers=auth)
    assert r.status_code == 201, r.json
    assert r.json["partner_id"] == "atelier-cv-1"
    assert r.json["structure"]["id"] == str(structure.id)
    assert r.json["status"] == "publie"
    assert r.json["zone_eligibilite"] == ["02"]
    assert r.headers["Location"].endswith(url)
    service_id = uuid.UUID(r.json["id"])

    service = db.get(Service, service_id)
    assert service.source == tokens.token_source(structure.id)
    assert service.source_id == "atelier-cv-1"
    token_id = db.scalar(select(tokens.ApiToken.id).where(tokens.ApiToken.structure_id == structure.id))
    actors = db.scalars(select(AuditLog.actor).where(AuditLog.record_id == service_id)).all()
    assert actors == [f"token:{token_id}"]

    # The same PUT again: same service, nothing changes, nothing audited.
    audit_count = db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.record_id == service_id))
    r = client.put(url, json=BODY, headers=auth)
    assert r.status_code == 200
    assert r.json["id"] == str(service_id)
    assert db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.record_id == service_id)) == audit_count

    # A replacement: fields absent from the body are emptied.
    r = client.put(url, json={**BODY, "nom": "Atelier CV", "frais": None, "zone_eligibilite": []}, headers=auth)
    assert r.status_code == 200
    assert r.json["nom"] == "Atelier CV" and r.json["frais"] is None and r.json["zone_eligibilite"] == []
    assert db.scalar(select(func.count()).select_from(Service).where(Service.source_id == "atelier-cv-1")) == 1


def test_token_of_structure_a_cannot_write_to_structure_b(client, db, factories):
    a = factories.StructureFactory()
    b = factories.StructureFactory()
    auth_a = _token(db, a)
    before = db.scalar(select(func.count()).select_from(Service).where(Service.structure_id == b.id))

    r = client.put(f"/api/v1/structures/{b.id}/services/x1", json=BODY, headers=auth_a)
    assert r.status_code == 403
    assert r.content_type == "application/problem+json"
    assert "autre structure" in r.json["detail"]
    r = client.post(f"/api/v1/structures/{b.id}/services", json=BODY, headers=auth_a)
    assert r.status_code == 403
    # B's own service, created with B's token, cannot be archived or read with A's.
    auth_b = _token(db, b)
    assert client.put(f"/api/v1/structures/{b.id}/services/x1", json=BODY, headers=auth_b).status_code == 201
    assert client.delete(f"/api/v1/structures/{b.id}/services/x1", headers=auth_a).status_code == 403
    assert client.get(f"/api/v1/structures/{b.id}/services/x1", headers=auth_a).status_code == 403
    # A's token on its own structure does not reach B's service of the same partner id.
    assert client.get(f"/api/v1/structures/{a.id}/services/x1", headers=auth_a).status_code == 404
    after = db.scalar(select(func.count()).select_from(Service).where(Service.structure_id == b.id))
    assert after == before + 1
    assert db.scalar(select(Service.status).where(Service.source_id == "x1")) == Status.PUBLIE


def test_authentication_and_scopes(client, db, factories):
    structure = factories.StructureFactory()
    url = f"/api/v1/structures/{structure.id}/services/s1"
    r = client.put(url, json=BODY)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.put(url, json=BODY, headers={"Authorization": "Bearer offre_nope"}).status_code == 401

    read_only = _token(db, structure, "read")
    r = client.put(url, json=BODY, headers=read_only)
    assert r.status_code == 403 and "write" in r.json["detail"]

    token, plain = tokens.create_token(db, structure.id, scopes=["write"])
    tokens.revoke(db, token.id, by="test")
    assert client.put(url, json=BODY, headers={"Authorization": f"Bearer {plain}"}).status_code == 401


def test_validation_names_the_field_and_changes_nothing(client, db, factories):
    structure = factories.StructureFactory()
    auth = _token(db, structure)
    url = f"/api/v1/structures/{structure.id}/services/bad"
    r = client.put(url, json={**BODY, "thematiques": ["pas-une-thematique"], "code_insee": "99999"}, headers=auth)
    assert r.status_code == 400
    assert r.content_type == "application/problem+json"
    assert "thématique inconnue" in r.json["errors"]["thematiques"][0]
    r = client.put(url, json={**BODY, "zone_eligibilite": ["02"], "code_insee": "99999"}, headers=auth)
    assert r.status_code == 400 and "code_insee" in r.json["errors"]
    r = client.put(url, json={**BODY, "thematique": ["x"]}, headers=auth)
    assert r.status_code == 400 and r.json["errors"] == {"thematique": ["champ inconnu"]}
    r = client.put(url, data="pas du json", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400
    r = client.put(f"/api/v1/structures/{structure.id}/services/a%20b", json=BODY, headers=auth)
    assert r.status_code == 400 and "partner_id" in r.json["errors"]
    assert db.scalar(select(func.count()).select_from(Service).where(Service.structure_id == structure.id)) == 0


def test_post_then_archive_then_put_restores(client, db, factories):
    structure = factories.StructureFactory()
    auth = _token(db, structure)
    r = client.post(f"/api/v1/structures/{structure.id}/services", json={**BODY, "partner_id": "p-7"}, headers=auth)
    assert r.status_code == 201 and r.json["partner_id"] == "p-7"
    r = client.post(f"/api/v1/structures/{structure.id}/services", json={**BODY, "partner_id": "p-7"}, headers=auth)
    assert r.status_code == 409
    url = f"/api/v1/structures/{structure.id}/services/p-7"
    assert client.delete(url, headers=auth).status_code == 204
    assert db.scalar(select(Service.status).where(Service.source_id == "p-7")) == Status.ARCHIVE
    r = client.get(url, headers=auth)
    assert r.status_code == 200 and r.json["status"] == "archive"
    r = client.put(url, json=BODY, headers=auth)
    assert r.status_code == 200 and r.json["status"] == "publie"
