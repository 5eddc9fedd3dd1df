"""The current user and the decorators that guard pages. Login sets
session["user_id"] and session["auth_nonce"] (web/auth.py); before every request the
nonce must name a live server-side session of that user (catalogue/user_sessions.py),
else the cookie's session is emptied. The rules themselves are in catalogue.permissions."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from flask import abort, current_app, g, redirect, request, session

from catalogue import permissions, user_sessions
from catalogue.accounts import User
from web.db import get_session


def current_user() -> User | None:
    """The logged-in user: set by _load_session before each request."""
    return g.get("current_user")


def session_lifetimes() -> user_sessions.Lifetimes:
    s = current_app.extensions["offre"]["settings"]
    return user_sessions.Lifetimes(
        idle=timedelta(minutes=s.session_idle_minutes), absolute=timedelta(hours=s.session_max_hours)
    )


def _load_session() -> None:
    """Runs first on every request: the cookie's login counts only while its
    server-side session lives (not logged out, not ended, not expired)."""
    g.current_user = None
    if request.endpoint == "static" or "user_id" not in session:
        return
    db = get_session()
    user_id = session.get("user_id")
    live = user_sessions.check_session(db, user_id, session.get("auth_nonce"), session_lifetimes())
    if db.dirty or db.deleted:
        db.commit()  # an expired session deleted, or last_seen_at moved on (once a minute)
    if not live:
        session.clear()
        return
    user = db.get(User, user_id)
    if user is not None and user.is_active:
        g.current_user = user


def _to_login():
    return redirect("/connexion?" + urlencode({"next": request.full_path.rstrip("?")}))


def requires(rule, refused: str):
    """A page for those `rule(session, user)` lets in: the anonymous go to the login
    page, anybody else refused gets 403 with `refused` (the blueprint's 403 page
    says who to ask)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                return _to_login()
            if not permissions.is_professional(user):
                abort(403, description="Confirmez d'abord votre adresse électronique.")
            if not rule(get_session(), user):
                abort(403, description=refused)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def login_required(view):
    """Any logged-in professional; anonymous visitors go to the login page."""
    return requires(lambda session, user: True, "")(view)


moderator_required = requires(
    permissions.is_moderator, "Cette page est réservée aux modérateurs et à l'équipe du SPIE."
)
cto_required = requires(
    permissions.has_cto_access,
    "Le comité technique (CTO) est réservé à ses membres et à l'équipe du SPIE.",
)
steering_required = requires(
    permissions.can_see_steering,
    "Le pilotage est réservé à l'équipe du SPIE et aux membres des comités techniques (CTO).",
)


def _cto_access() -> bool:
    user = current_user()
    return user is not None and permissions.has_cto_access(get_session(), user)


def init_app(app) -> None:
    # Before every other hook (the CSRF check included): pages and errors know the user.
    app.before_request_funcs.setdefault(None, []).insert(0, _load_session)
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.globals["cto_access"] = _cto_access

