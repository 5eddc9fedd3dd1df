"""TRUSTED_PROXIES: X-Forwarded-For (and -Proto, -Host) are believed only when the
setting says how many reverse proxies stand in front; otherwise a client could
forge its address to escape the per-IP limits of the login and of the API."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from catalogue import tokens
from catalogue.accounts import LoginAttempt
from tests.auth_helpers import page_csrf_token
from web.app import create_app
from web.settings import Settings


@pytest.fixture
def make_client(settings, connection):
    def _make(**changes):
        app = create_app(settings.replace(**changes))
        app.config["TESTING"] = True
        app.extensions["offre"]["sessionmaker"] = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        return app.test_client()

    return _make


def _failed_login(client, forwarded_for: str) -> None:
    token = page_csrf_token(client, "/connexion")
    r = client.post("/connexion", data={"csrf_token": token, "email": "personne@example.org", "password": "mauvais-mot"},
                    headers={"X-Forwarded-For": forwarded_for})
    assert r.status_code == 401


def _attempt_ips(db) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(LoginAttempt.ip).where(LoginAttempt.email == "personne@example.org")
                           .order_by(LoginAttempt.id)))


def test_the_setting_is_read_from_the_environment():
    assert Settings.from_env({}).trusted_proxies == 0
    assert Settings.from_env({"TRUSTED_PROXIES": "2"}).trusted_proxies == 2


def test_login_attempts_use_the_forwarded_address_only_behind_a_trusted_proxy(make_client, db):
    _failed_login(make_client(), "203.0.113.7")
    assert _attempt_ips(db) == ["127.0.0.1"]  # the header is ignored: anybody can send it

    _failed_login(make_client(trusted_proxies=1), "198.51.100.1, 203.0.113.8")
    # One proxy: only the address it appended (the last one) is believed.
    assert _attempt_ips(db) == ["127.0.0.1", "203.0.113.8"]


def test_api_rate_limit_per_ip_behind_a_proxy(make_client):
    # Without the setting, forged addresses share the real one's bucket.
    client = make_client(api_rate_limit_per_minute=2)
    codes = [client.get("/api/v1/thematiques", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
             for i in range(3)]
    assert codes == [200, 200, 429]

    # Behind one proxy every client has its own bucket, and one client is still limited.
    client = make_client(api_rate_limit_per_minute=2, trusted_proxies=1)
    codes = [client.get("/api/v1/thematiques", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
             for i in range(3)]
    assert codes == [200, 200, 200]
    codes = [client.get("/api/v1/thematiques", headers={"X-Forwarded-For": "203.0.113.50"}).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]


def test_forwarded_scheme_and_host_make_the_links_behind_a_proxy(make_client, db, factories):
    structure = factories.StructureFactory()
    _, plain = tokens.create_token(db, structure.id, scopes=["read", "write"], name="test")
    db.commit()
    body = {
        "nom": "Atelier CV", "description": "Un atelier pour écrire son CV.",
        "thematiques": ["preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation"],
        "publics": ["tous-publics"], "code_insee": "02408",
    }
    headers = {"Authorization": f"Bearer {plain}", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "offre.example.org"}
    url = f"/api/v1/structures/{structure.id}/services/cv-1"

    r = make_client().put(url, json=body, headers=headers)
    assert r.status_code == 201, r.json
    assert r.headers["Location"] == f"http://localhost{url}"

    r = make_client(trusted_proxies=1).put(url, json=body, headers=headers)
    assert r.status_code == 200, r.json
    assert r.headers["Location"] == f"https://offre.example.org{url}"
