"""Login through OpenID Connect: the redirection to the provider (state, nonce,
PKCE) and its return; the client itself is catalogue.oidc."""

from __future__ import annotations

import hashlib
import secrets
from base64 import urlsafe_b64encode
from urllib.parse import urlencode

from flask import abort, flash, redirect, request, session, url_for

from catalogue import oidc as oidc_client
from catalogue.db import set_actor
from catalogue.oidc import OIDC_SCOPES, OidcError
from web.auth.links import absolute, settings
from web.auth.routes import _login_page, bp
from web.auth.sessions import oidc_enabled, safe_next, start_session
from web.db import get_session


@bp.get("/connexion/oidc")
def oidc_start():
    if not oidc_enabled():
        abort(404)
    try:
        config = oidc_client.discovery(settings().oidc_issuer)
    except OidcError as exc:
        return _login_page(503, error=str(exc))
    verifier = secrets.token_urlsafe(48)
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    session["oidc"] = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": safe_next(request.args.get("next"), ""),
    }
    params = {
        "response_type": "code",
        "client_id": settings().oidc_client_id,
        "redirect_uri": absolute("auth.oidc_callback"),
        "scope": OIDC_SCOPES,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    endpoint = config["authorization_endpoint"]
    return redirect(endpoint + ("&" if "?" in endpoint else "?") + urlencode(params))


@bp.get("/connexion/oidc/retour")
def oidc_callback():
    if not oidc_enabled():
        abort(404)
    pending = session.pop("oidc", None)
    if not pending or not request.args.get("state") or not secrets.compare_digest(
        str(pending.get("state")), request.args.get("state", "")
    ):
        return _login_page(400, error="La connexion par le fournisseur d'identité a expiré ou ne vient pas de ce site. Recommencez.")
    if request.args.get("error"):
        return _login_page(
            400, error="Le fournisseur d'identité a refusé la connexion : " + request.args.get("error", "")[:100] + "."
        )
    code = request.args.get("code")
    if not code:
        return _login_page(400, error="Le fournisseur d'identité n'a pas renvoyé de code de connexion.")
    try:
        claims, userinfo, id_token = oidc_client.exchange(settings(), code, pending, absolute("auth.oidc_callback"))
        user = oidc_client.account(get_session(), settings().oidc_issuer, claims, userinfo)
    except OidcError as exc:
        return _login_page(400, error=str(exc))
    db = get_session()
    set_actor(db, f"user:{user.id}")
    start_session(user)
    session["oidc_id_token"] = id_token
    db.commit()
    flash("Vous êtes connecté.", "success")
    return redirect(pending.get("next") or url_for("auth.espace"))

