"""Accounts for tests: a verified user with a known password, and a real login
through the /connexion form (its CSRF token read from the page).

    from tests.auth_helpers import make_user, login, csrf_token

    user = make_user(db, email="a@example.org", password="motdepasse-solide", verified=True)
    response = login(client, "a@example.org", "motdepasse-solide")   # 302 on success
    client.post("/…", data={"csrf_token": csrf_token(client), ...})
"""

from __future__ import annotations

import html
import re
import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from sqlalchemy.orm import object_session

from catalogue import user_sessions
from catalogue.accounts import Membership, ModeratorScope, Role, User

DEFAULT_PASSWORD = "mot-de-passe-de-test-42"

# Cheap parameters: tests hash many passwords. web/auth.py verifies any argon2
# hash (the parameters are stored in the hash) and re-hashes with its own ones.
_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(
    db,
    email: str = "partenaire@example.org",
    password: str | None = DEFAULT_PASSWORD,
    verified: bool = True,
    is_admin: bool = False,
    nom: str | None = None,
    is_active: bool = True,
) -> User:
    """A user with a known password (None: an OpenID-only account), flushed."""
    user = User(
        email=email.strip().lower(),
        nom=nom,
        password_hash=_hasher.hash(password) if password is not None else None,
        email_verified_at=datetime.now(UTC) if verified else None,
        is_admin=is_admin,
        is_active=is_active,
    )
    db.add(user)
    db.flush()
    return user


def add_member(db, user: User, structure, role: Role | str = Role.MEMBRE) -> Membership:
    """Make `user` a member (or admin) of `structure`."""
    membership = Membership(user_id=user.id, structure_id=structure.id, role=Role(role))
    db.add(membership)
    db.flush()
    return membership


def make_moderator(db, user: User, departement: str | None = None, territory: str | None = None) -> ModeratorScope:
    """Give `user` a moderator scope (a département code or a territory slug)."""
    scope = ModeratorScope(user_id=user.id, departement_code=departement, territory_slug=territory)
    db.add(scope)
    db.flush()
    return scope


def page_csrf_token(client, path: str) -> str:
    """The CSRF token of the form served at `path`."""
    response = client.get(path)
    match = _CSRF.search(response.get_data(as_text=True))
    assert match, f"no csrf_token field in {path} (status {response.status_code})"
    return html.unescape(match.group(1))


def csrf_token(client) -> str:
    """The CSRF token of the client's current session (created if none yet), for
    POSTs to any form: `data={"csrf_token": csrf_token(client), ...}`."""
    with client.session_transaction() as session:
        token = session.get("_csrf")
        if not token:
            token = secrets.token_urlsafe(32)
            session["_csrf"] = token
    return token


def log_in_as(client, user: User) -> str:
    """Log `user` in on `client` without the form: a real server-side session (in the
    user's database session) and the cookie that names it. Returns the nonce."""
    nonce = user_sessions.open_session(object_session(user), user)
    with client.session_transaction() as session:
        session["user_id"] = user.id
        session["auth_nonce"] = nonce
    return nonce


def login(client, email: str, password: str = DEFAULT_PASSWORD, next: str | None = None):
    """Log in through the /connexion form; returns the POST response (302 on success)."""
    token = page_csrf_token(client, "/connexion")
    data = {"csrf_token": token, "email": email, "password": password}
    if next is not None:
        data["next"] = next
    return client.post("/connexion", data=data)


def logout(client):
    token = csrf_token(client)
    return client.post("/deconnexion", data={"csrf_token": token})
