"""Read API: details with ETag/Last-Modified, CORS, commune lookup, rate limit,
body size limit — all errors as problem+json naming the field."""

from __future__ import annotations

from catalogue import tokens
from web.app import create_app


def test_service_detail_etag_304_and_cors(client, factories):
    service = factories.ServiceFactory(nom="Permis solidaire")
    r = client.get(f"/api/v1/services/{service.id}")
    assert r.status_code == 200
    assert r.json["nom"] == "Permis solidaire" and r.json["thematiques_spie"] == ["mobilite"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Last-Modified"]
    etag = r.headers["ETag"]
    again = client.get(f"/api/v1/services/{service.id}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    r = client.get(f"/api/v1/structures/{service.structure_id}")
    assert r.status_code == 200 and [s["nom"] for s in r.json["services"]] == ["Permis solidaire"]
    r = client.options("/api/v1/thematiques", headers={"Origin": "https://ailleurs.example", "Access-Control-Request-Method": "GET"})
    assert r.headers["Access-Control-Allow-Origin"] == "*" and "GET" in r.headers["Access-Control-Allow-Methods"]


def test_draft_is_not_public(client, factories):
    service = factories.ServiceFactory(status="brouillon")
    r = client.get(f"/api/v1/services/{service.id}")
    assert r.status_code == 404 and r.content_type == "application/problem+json"


def test_commune_lookup_by_name_postal_code_and_insee_code(client):
    by_name = client.get("/api/v1/communes?q=saint-quentin").json["items"][0]
    assert by_name["code"] == "02691" and by_name["epci"]["code"] and by_name["departement"]["code"] == "02"
    assert by_name["region"]["code"] == "32" and by_name["centre"]["longitude"] > 3
    assert "02100" in by_name["codes_postaux"]
    assert [c["code"] for c in client.get("/api/v1/communes?q=02691").json["items"]] == ["02691"]
    assert "02691" in [c["code"] for c in client.get("/api/v1/communes?q=02100").json["items"]]
    r = client.get("/api/v1/communes?q=laon&limit=500")
    assert r.status_code == 400 and "limit" in r.json["errors"]


def test_rate_limit_per_ip_and_per_token(settings, connection, db, factories):
    from sqlalchemy.orm import sessionmaker

    app = create_app(settings.replace(api_rate_limit_per_minute=3))
    app.extensions["offre"]["sessionmaker"] = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    client = app.test_client()
    statuses = [client.get("/api/v1/thematiques").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    r = client.get("/api/v1/thematiques")
    assert r.content_type == "application/problem+json" and int(r.headers["Retry-After"]) >= 1
    # Another IP is not limited by the first one's count; a token has its own count.
    other = {"REMOTE_ADDR": "10.0.0.2"}
    structure = factories.StructureFactory()
    _, plain = tokens.create_token(db, structure.id, scopes=["read"])
    auth = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/sources", environ_base=other, headers=auth).status_code == 200
    for _ in range(2):
        client.get("/api/v1/sources", environ_base={"REMOTE_ADDR": "10.0.0.3"}, headers=auth)
    r = client.get("/api/v1/sources", environ_base={"REMOTE_ADDR": "10.0.0.4"}, headers=auth)
    assert r.status_code == 429 and "jeton" in r.json["detail"]


def test_request_body_limit_is_problem_json(client, factories):
    structure = factories.StructureFactory()
    r = client.put(
        f"/api/v1/structures/{structure.id}/services/x",
        data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.content_type == "application/problem+json"
