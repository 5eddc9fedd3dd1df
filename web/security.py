"""CSRF protection of every form: a per-session token, checked on every unsafe
request except the token-authenticated JSON API (which uses no cookies)."""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, abort, request, session

bp = Blueprint("security", __name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
# Paths whose unsafe requests authenticate with a bearer token, not a cookie.
CSRF_EXEMPT_PREFIXES = ("/api/",)


def csrf_token() -> str:
    token = session.get("_csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["_csrf"] = token
    return token


def _check_csrf():
    if request.method in SAFE_METHODS or request.path.startswith(CSRF_EXEMPT_PREFIXES):
        return None
    expected = session.get("_csrf")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        abort(400, description="Le formulaire a expiré ou ne vient pas de ce site (jeton CSRF absent ou invalide). Rechargez la page et recommencez.")
    return None


def init_app(app) -> None:
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
