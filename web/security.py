"""CSRF protection of every form: a per-session token, checked on every unsafe
request except the token-authenticated JSON API (which uses no cookies).

Security headers on every response: a strict Content-Security-Policy (scripts and
styles from our own origin only — no inline script, no eval; the one inline <style>,
the theme colours from settings, allowed by its hash), no framing, no MIME sniffing,
a same-origin referrer, and HSTS when the cookies are HTTPS-only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, request, session
from markupsafe import Markup, escape

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
    if request.routing_exception is not None:
        return None  # no view will run: the 404 or 405 (with Allow) is the answer
    expected = session.get("_csrf")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        abort(400, description="Le formulaire a expiré ou ne vient pas de ce site (jeton CSRF absent ou invalide). Rechargez la page et recommencez.")
    return None


def _origin(url: str) -> str | None:
    """The CSP source of an absolute URL (a {s} subdomain becomes *); None if relative."""
    parts = urlsplit(url.replace("{s}", "*"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.split('@')[-1]}"


def theme_css(settings) -> Markup:
    """The inline <style> of base.html: the theme colours (allowed by its CSP hash)."""
    return Markup(escape(
        f":root {{ --offre-primary: {settings.color_primary}; --offre-secondary: {settings.color_secondary}; }}"
    ))


def content_security_policy(settings) -> str:
    theme = base64.b64encode(hashlib.sha256(str(theme_css(settings)).encode()).digest()).decode()
    images = ["'self'", "data:"] + [o for o in (_origin(settings.tiles_url), _origin(settings.logo_url)) if o]
    forms = ["'self'"] + [o for o in (_origin(settings.oidc_issuer),) if o]  # OIDC logout redirects there
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", f"'sha256-{theme}'"],
        "img-src": sorted(set(images), key=images.index),
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": forms,
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def security_headers(settings) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
    if settings.session_cookie_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


def _add_headers(response):
    for name, value in current_app.extensions["offre"]["security_headers"].items():
        response.headers.setdefault(name, value)
    return response


def init_app(app) -> None:
    settings = app.extensions["offre"]["settings"]
    app.extensions["offre"]["security_headers"] = security_headers(settings)
    app.before_request(_check_csrf)
    app.after_request(_add_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["theme_css"] = theme_css(settings)
