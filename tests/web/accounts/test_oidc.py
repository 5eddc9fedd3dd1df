"""OpenID Connect login against a local fake provider (a small Flask app in a
thread): discovery, authorization code with PKCE, state and nonce, RS256-signed
id_token checked against the JWKS, signed userinfo (as ProConnect does)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select
from werkzeug.serving import make_server

from catalogue.accounts import User
from tests.auth_helpers import csrf_token, make_user

CLIENT_ID = "offre-test"
CLIENT_SECRET = "secret-du-client"


class FakeProvider:
    def __init__(self, auth_method="client_secret_post"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "cle-1"})
        self.signing_key = self.key
        self.auth_method = auth_method
        self.codes: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        self.person = {"sub": "agent-42", "email": "Agent@Aisne.fr", "given_name": "Agathe", "usual_name": "Martin"}
        self.nonce_override = None
        self.app = self._make_app()

    def sign(self, claims: dict) -> str:
        return jwt.encode({"alg": "RS256", "kid": self.signing_key.kid}, claims, self.signing_key)

    def _make_app(self):
        app = Flask("fake_oidc")
        provider = self

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(
                issuer=provider.issuer,
                authorization_endpoint=f"{provider.issuer}/authorize",
                token_endpoint=f"{provider.issuer}/token",
                userinfo_endpoint=f"{provider.issuer}/userinfo",
                jwks_uri=f"{provider.issuer}/jwks",
                end_session_endpoint=f"{provider.issuer}/session/end",
                token_endpoint_auth_methods_supported=[provider.auth_method],
                id_token_signing_alg_values_supported=["RS256"],
                response_types_supported=["code"],
                code_challenge_methods_supported=["S256"],
            )

        @app.get("/jwks")
        def jwks():
            return jsonify(KeySet([provider.key]).as_dict(private=False))

        @app.get("/authorize")
        def authorize():
            args = request.args
            assert args["response_type"] == "code" and args["client_id"] == CLIENT_ID
            assert args["code_challenge_method"] == "S256" and "openid" in args["scope"].split()
            code = secrets.token_urlsafe(16)
            provider.codes[code] = dict(args)
            return redirect(f"{args['redirect_uri']}?code={code}&state={args['state']}")

        @app.post("/token")
        def token():
            form = request.form
            provider.token_requests.append(dict(form))
            if provider.auth_method == "client_secret_post":
                client_ok = form.get("client_id") == CLIENT_ID and form.get("client_secret") == CLIENT_SECRET
            else:
                auth = request.authorization
                client_ok = auth is not None and auth.username == CLIENT_ID and auth.password == CLIENT_SECRET
            grant = provider.codes.pop(form.get("code", ""), None)
            if not client_ok:
                return jsonify(error="invalid_client"), 401
            if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
                return jsonify(error="invalid_grant"), 400
            challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
            if challenge.rstrip(b"=").decode() != grant["code_challenge"]:
                return jsonify(error="invalid_grant", error_description="PKCE"), 400
            now = int(time.time())
            id_token = provider.sign({
                "iss": provider.issuer, "aud": CLIENT_ID, "sub": provider.person["sub"],
                "iat": now, "exp": now + 60, "nonce": provider.nonce_override or grant["nonce"],
            })
            return jsonify(access_token="jeton-" + provider.person["sub"], token_type="Bearer", id_token=id_token)

        @app.get("/userinfo")
        def userinfo():
            if request.headers.get("Authorization") != "Bearer jeton-" + provider.person["sub"]:
                return jsonify(error="invalid_token"), 401
            return provider.sign(dict(provider.person)), 200, {"Content-Type": "application/jwt"}

        return app

    def __enter__(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def provider():
    with FakeProvider() as p:
        yield p


@pytest.fixture
def settings(settings, provider):
    return settings.replace(oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET)


def _authorize(client, provider, next_path=None):
    """Start the login on the app, then let the provider answer; returns the
    provider's redirect (the callback URL on the app, with code and state)."""
    import requests

    start = client.get("/connexion/oidc", query_string={"next": next_path} if next_path else None)
    assert start.status_code == 302
    location = start.headers["Location"]
    assert location.startswith(provider.issuer + "/authorize?")
    params = parse_qs(urlsplit(location).query)
    assert params["redirect_uri"] == ["http://offre.test/connexion/oidc/retour"]
    assert params["state"][0] and params["nonce"][0] and params["code_challenge"][0]
    answer = requests.get(location, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    callback = urlsplit(answer.headers["Location"])
    return f"{callback.path}?{callback.query}"


def test_login_page_offers_proconnect(client, db):
    assert "S'identifier avec ProConnect" in client.get("/connexion").get_data(as_text=True)


def test_oidc_login_creates_a_verified_account(client, db, provider):
    callback = _authorize(client, provider, next_path="/espace/rejoindre")
    response = client.get(callback)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/espace/rejoindre"
    user = db.scalar(select(User).where(User.email == "agent@aisne.fr"))
    assert user is not None
    assert user.oidc_subject == f"{provider.issuer}|agent-42"
    assert user.email_verified_at is not None and user.password_hash is None
    assert user.nom == "Agathe Martin"
    assert client.get("/espace").status_code == 200
    # The PKCE verifier went to the token endpoint (the provider checked it).
    assert provider.token_requests[-1]["code_verifier"]

    # Logout goes through the provider's end_session_endpoint.
    out = client.post("/deconnexion", data={"csrf_token": csrf_token(client)})
    assert out.headers["Location"].startswith(provider.issuer + "/session/end?")
    assert "id_token_hint=" in out.headers["Location"]
    assert client.get("/espace").status_code == 302

    # Logging in again finds the same account, even if the address changed.
    provider.person["email"] = "agathe.martin@aisne.fr"
    assert client.get(_authorize(client, provider)).status_code == 302
    assert db.scalar(select(User).where(User.oidc_subject == f"{provider.issuer}|agent-42")).id == user.id


def test_oidc_links_an_existing_password_account(client, db, provider):
    existing = make_user(db, email="agent@aisne.fr")
    assert client.get(_authorize(client, provider)).status_code == 302
    db.refresh(existing)
    assert existing.oidc_subject == f"{provider.issuer}|agent-42"
    with client.session_transaction() as session:
        assert session["user_id"] == existing.id and session["auth_nonce"]


def test_oidc_session_is_rotated(client, db, provider):
    with client.session_transaction() as session:
        session["planted"] = "x"
    client.get(_authorize(client, provider))
    with client.session_transaction() as session:
        assert "planted" not in session and "oidc" not in session


def test_oidc_wrong_state_is_refused(client, db, provider):
    callback = _authorize(client, provider)
    forged = callback.split("&state=")[0] + "&state=etat-forge"
    response = client.get(forged)
    assert response.status_code == 400
    assert "expiré ou ne vient pas de ce site" in response.get_data(as_text=True)
    assert db.scalar(select(User)) is None
    # A callback without a started login is refused too.
    assert client.get(callback).status_code == 400


def test_oidc_wrong_nonce_is_refused(client, db, provider):
    provider.nonce_override = "un-autre-nonce"
    response = client.get(_authorize(client, provider))
    assert response.status_code == 400
    assert "nonce" in response.get_data(as_text=True)
    assert db.scalar(select(User)) is None
    assert client.get("/espace").status_code == 302


def test_oidc_token_signed_by_another_key_is_refused(client, db, provider):
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "cle-1"})
    response = client.get(_authorize(client, provider))
    assert response.status_code == 400
    assert "signature" in response.get_data(as_text=True)
    assert db.scalar(select(User)) is None


def test_oidc_provider_error_is_explained(client, db, provider):
    client.get("/connexion/oidc")
    with client.session_transaction() as session:
        state = session["oidc"]["state"]
    response = client.get("/connexion/oidc/retour", query_string={"error": "access_denied", "state": state})
    assert response.status_code == 400
    assert "a refusé la connexion : access_denied" in response.get_data(as_text=True)


def test_client_secret_basic(client, db, settings):
    with FakeProvider(auth_method="client_secret_basic") as other:
        client.application.extensions["offre"]["settings"] = settings.replace(oidc_issuer=other.issuer)
        assert client.get(_authorize(client, other)).status_code == 302
        assert "client_secret" not in other.token_requests[-1]


def test_oidc_disabled_by_default(db, app, client, settings):
    app.extensions["offre"]["settings"] = settings.replace(oidc_issuer="", oidc_client_id="")
    assert client.get("/connexion/oidc").status_code == 404
    assert client.get("/connexion/oidc/retour?code=x&state=y").status_code == 404
    assert "ProConnect" not in client.get("/connexion").get_data(as_text=True)


def test_oidc_provider_down(db, app, client, settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.extensions["offre"]["settings"] = settings.replace(oidc_issuer=f"http://127.0.0.1:{port}")
    response = client.get("/connexion/oidc")
    assert response.status_code == 503
    assert "ne répond pas" in response.get_data(as_text=True)
