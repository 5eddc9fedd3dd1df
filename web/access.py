"""The current user and the decorators that guard pages. Login sets
session["user_id"] (web/auth.py); the rules themselves are in catalogue.permissions."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from flask import abort, g, redirect, request, session

from catalogue import permissions
from catalogue.accounts import User
from web.db import get_session


def current_user() -> User | None:
    if "current_user" not in g:
        user_id = session.get("user_id")
        user = get_session().get(User, user_id) if user_id else None
        if user is not None and (not user.is_active or session.get("auth_nonce") is None):
            user = None
        g.current_user = user
    return g.current_user


def _to_login():
    return redirect("/connexion?" + urlencode({"next": request.full_path.rstrip("?")}))


def login_required(view):
    """Any logged-in professional; anonymous visitors go to the login page."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        user = current_user()
        if user is None:
            return _to_login()
        if not permissions.is_professional(user):
            abort(403, description="Confirmez d'abord votre adresse électronique.")
        return view(*args, **kwargs)

    return wrapper


def moderator_required(view):
    """Moderators (of a territory or a département) and administrators."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        user = current_user()
        if user is None:
            return _to_login()
        if not permissions.is_moderator(get_session(), user):
            abort(403, description="Cette page est réservée aux modérateurs et à l'équipe du SPIE.")
        return view(*args, **kwargs)

    return wrapper


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
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.globals["cto_access"] = _cto_access
