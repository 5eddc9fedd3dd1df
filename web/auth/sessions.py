"""A logged-in session and the limits around it: where to go back after login,
the session opened (rotated: catalogue.user_sessions), the client's address, the
login policy (catalogue.login_limits) and the account e-mails asked for
(catalogue.mail_limits)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import g, request, session

from catalogue import login_limits, mail_limits, user_sessions
from catalogue.accounts import User
from web.access import session_lifetimes
from web.auth.links import settings
from web.db import get_session


def safe_next(value: str | None, default: str = "/espace") -> str:
    """A local path to go back to after login; anything else becomes `default`.

    Refused: absolute URLs (scheme), protocol-relative //host, backslashes
    (browsers read /\\host as //host), control characters, and non-paths."""
    if not value or not isinstance(value, str) or len(value) > 2000:
        return default
    if not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


# The selection for the person (web/public/selection.py): offer ids and the owner
# secrets of its short links.
KEPT_AT_LOGIN = ("selection", "selection_liens")


def start_session(user: User) -> None:
    """Log `user` in: a fresh session (old data gone), user_id and the nonce of a
    new server-side session. What a visitor chose before logging in and that is
    nobody's personal data (the offers of their selection) is kept."""
    kept = {k: session[k] for k in KEPT_AT_LOGIN if k in session}
    session.clear()
    session.update(kept)
    db = get_session()
    user_sessions.purge_expired(db, user.id, session_lifetimes())
    session["user_id"] = user.id
    session["auth_nonce"] = user_sessions.open_session(db, user)
    session.permanent = False
    g.current_user = user
    user.last_login_at = datetime.now(UTC)


def client_ip() -> str:
    return (request.remote_addr or "inconnue")[:64]


def login_policy() -> login_limits.Policy:
    s = settings()
    return login_limits.Policy(free=s.login_free_failures, max_delay=s.login_max_delay_seconds)


def _wait_message(seconds: int) -> str:
    if seconds < 120:
        delay = f"{seconds} seconde{'s' if seconds > 1 else ''}"
    else:
        delay = f"{math.ceil(seconds / 60)} minutes"
    return (
        f"Trop de tentatives de connexion échouées depuis votre réseau : patientez {delay} avant de réessayer, "
        "ou choisissez un nouveau mot de passe avec « Mot de passe oublié »."
    )


def mail_request_allowed(db, kind: str, email: str) -> bool:
    """Record that an account e-mail to `email` is asked for; False, and nothing
    recorded, when the address or the IP already asked too often
    (catalogue.mail_limits). Counted per request, whether the address has an account
    or not, so the answer tells nothing about accounts."""
    return mail_limits.mail_request_allowed(db, kind, email, client_ip())


def oidc_enabled() -> bool:
    s = settings()
    return bool(s.oidc_issuer and s.oidc_client_id)
