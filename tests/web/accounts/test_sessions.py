"""Sessions that cannot be forged or replayed (issue #15, points 2 and 3): the secret
key is checked at start-up, every login is a server-side session that logout, a new
password or an administrator ends for every copy of the cookie, and sessions expire
when idle and after a maximum lifetime."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from catalogue.accounts import UserSession
from tests.auth_helpers import (
    DEFAULT_PASSWORD,
    add_member,
    csrf_token,
    log_in_as,
    login,
    logout,
    make_user,
    page_csrf_token,
)
from web.app import create_app
from web.settings import DEFAULT_SECRET_KEY, Settings, SettingsError

STRONG_KEY = "k" * 48
PASSWORD = "une toute nouvelle phrase de passe"


def _forged_cookie(secret_key: str, payload: dict) -> str:
    """A session cookie signed the way Flask signs it, with `secret_key`."""
    app = Flask("forger")
    app.secret_key = secret_key
    return SecureCookieSessionInterface().get_signing_serializer(app).dumps(payload)


def _copy_cookie(source, target) -> None:
    target.set_cookie("session", source.get_cookie("session").value)


def _sessions(db, user) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id))


# ---------------------------------------------------------------- the secret key


@pytest.mark.parametrize("env", ["production", "preprod"])
def test_the_default_key_is_refused_outside_development(env):
    with pytest.raises(SettingsError, match="SECRET_KEY|OFFRE_ENV"):
        Settings(offre_env=env).check()


def test_a_short_key_is_refused_in_production():
    with pytest.raises(SettingsError, match=r"SECRET_KEY : trop courte \(31 octets\)"):
        Settings(secret_key="x" * 31).check()
    Settings(secret_key="x" * 32).check()


def test_development_and_tests_accept_the_default_key():
    Settings(offre_env="development").check()
    Settings(offre_env="test", secret_key="court").check()


def test_production_is_the_default_and_create_app_refuses_to_start():
    assert Settings.from_env({}).offre_env == "production"
    with pytest.raises(SettingsError, match="la clé par défaut n'est permise qu'en développement"):
        create_app(Settings(database_url=""))


def test_the_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(STRONG_KEY + "\n")
    settings = Settings.from_env({"SECRET_KEY_FILE": str(key_file)})
    assert settings.secret_key == STRONG_KEY
    settings.check()
    # Both at once is refused (which one would be meant?).
    with pytest.raises(SettingsError, match="SECRET_KEY et SECRET_KEY_FILE"):
        Settings.from_env({"SECRET_KEY_FILE": str(key_file), "SECRET_KEY": "y" * 40})
    with pytest.raises(SettingsError, match="SECRET_KEY_FILE : fichier illisible"):
        Settings.from_env({"SECRET_KEY_FILE": str(tmp_path / "absent")})


def test_a_cookie_signed_with_the_old_default_key_opens_nothing(settings, connection, db):
    admin = make_user(db, email="admin@example.org", is_admin=True)
    db.commit()
    app = create_app(settings.replace(offre_env="production", secret_key=STRONG_KEY))
    app.extensions["offre"]["sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    client = app.test_client()
    client.set_cookie("session", _forged_cookie(DEFAULT_SECRET_KEY, {"user_id": admin.id, "auth_nonce": "x"}))
    for path in ("/espace", "/pilotage", "/cto", "/espace/moderation"):
        response = client.get(path)
        assert response.status_code in (302, 303) and "/connexion" in response.headers["Location"], path


def test_a_validly_signed_cookie_without_a_server_session_opens_nothing(app, client, db):
    # Even with the key known (tests use a weak one), a cookie naming a user opens
    # nothing: it must name a live server-side session.
    admin = make_user(db, email="admin@example.org", is_admin=True)
    db.commit()
    client.set_cookie("session", _forged_cookie(app.secret_key, {"user_id": admin.id, "auth_nonce": "devine"}))
    assert client.get("/espace").status_code == 302
    other = make_user(db, email="autre@example.org")
    nonce = log_in_as(app.test_client(), other)
    # Another user's nonce does not open the administrator's account.
    client.set_cookie("session", _forged_cookie(app.secret_key, {"user_id": admin.id, "auth_nonce": nonce}))
    assert client.get("/espace").status_code == 302


# ---------------------------------------------------------------- ending sessions


def test_after_logout_a_copied_cookie_opens_nothing(app, client, db):
    make_user(db, email="a@example.org")
    assert login(client, "a@example.org").status_code == 302
    thief = app.test_client()
    _copy_cookie(client, thief)
    assert thief.get("/espace").status_code == 200
    assert logout(client).status_code == 302
    assert thief.get("/espace").status_code == 302
    assert client.get("/espace").status_code == 302


def test_logout_ends_only_this_session(app, client, db):
    user = make_user(db, email="a@example.org")
    login(client, "a@example.org")
    laptop = app.test_client()
    login(laptop, "a@example.org")
    assert _sessions(db, user) == 2
    logout(client)
    assert _sessions(db, user) == 1
    assert laptop.get("/espace").status_code == 200


def test_after_a_password_change_old_cookies_are_dead(app, client, db):
    user = make_user(db, email="a@example.org")
    login(client, "a@example.org")
    copy = app.test_client()
    _copy_cookie(client, copy)
    laptop = app.test_client()
    login(laptop, "a@example.org")
    done = client.post("/espace/mot-de-passe", data={
        "csrf_token": csrf_token(client), "current_password": DEFAULT_PASSWORD,
        "password": PASSWORD, "password_confirm": PASSWORD,
    })
    assert done.status_code == 302
    assert client.get("/espace").status_code == 200  # this browser goes on, with a new session
    assert copy.get("/espace").status_code == 302
    assert laptop.get("/espace").status_code == 302
    assert _sessions(db, user) == 1


def test_after_a_password_reset_every_session_is_dead(app, client, db, inbox):
    user = make_user(db, email="a@example.org")
    login(client, "a@example.org")
    other = app.test_client()
    other.post("/mot-de-passe-oublie", data={
        "csrf_token": page_csrf_token(other, "/mot-de-passe-oublie"), "email": "a@example.org"})
    inbox.wait(1)
    link = inbox.link("a@example.org", "/reinitialiser/")
    other.post(link, data={"csrf_token": csrf_token(other), "password": PASSWORD, "password_confirm": PASSWORD})
    assert client.get("/espace").status_code == 302
    assert _sessions(db, user) == 0
    # The link was bound to the old password: it cannot be replayed.
    assert other.get(link).status_code == 400


def test_log_out_everywhere(app, client, db):
    user = make_user(db, email="a@example.org")
    login(client, "a@example.org")
    laptop = app.test_client()
    login(laptop, "a@example.org")
    response = client.post("/espace/sessions/fermer", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert client.get("/espace").status_code == 302
    assert laptop.get("/espace").status_code == 302
    assert _sessions(db, user) == 0


def test_the_administrator_ends_every_session_of_a_member(app, client, db, factories):
    structure = factories.StructureFactory()
    member = make_user(db, email="membre@example.org")
    membership = add_member(db, member, structure)
    structure_admin = make_user(db, email="chef@example.org")
    add_member(db, structure_admin, structure, "admin")
    admin = make_user(db, email="admin@example.org", is_admin=True)
    db.commit()
    member_client = app.test_client()
    login(member_client, "membre@example.org")
    url = f"/espace/structures/{structure.id}/membres/{membership.id}/sessions"

    # The structure's own administrator sees no button and is refused.
    login(client, "chef@example.org")
    assert url not in client.get(f"/espace/structures/{structure.id}/membres").get_data(as_text=True)
    assert client.post(url, data={"csrf_token": csrf_token(client)}).status_code == 403
    assert member_client.get("/espace").status_code == 200

    login(client, "admin@example.org")
    page = client.get(f"/espace/structures/{structure.id}/membres").get_data(as_text=True)
    assert url in page and "Fermer ses sessions" in page
    done = client.post(url, data={"csrf_token": csrf_token(client)})
    assert done.status_code == 303
    assert "Sessions de membre@example.org fermées (1)" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert member_client.get("/espace").status_code == 302
    assert _sessions(db, member) == 0
    assert client.get("/espace").status_code == 200  # the administrator's own session goes on
    assert _sessions(db, admin) == 1


def test_the_cli_ends_every_session_of_an_account(app, client, db):
    from flask.cli import ScriptInfo

    from web.cli import build_cli

    user = make_user(db, email="a@example.org")
    login(client, "a@example.org")
    runner = app.test_cli_runner()
    result = runner.invoke(build_cli(), ["user", "end-sessions", "A@example.org"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert "Sessions fermées pour a@example.org : 1." in result.output
    assert client.get("/espace").status_code == 302
    assert _sessions(db, user) == 0
    unknown = runner.invoke(build_cli(), ["user", "end-sessions", "x@example.org"], obj=ScriptInfo(create_app=lambda: app))
    assert unknown.exit_code != 0 and "aucun compte" in unknown.output


def test_a_reset_link_signed_with_the_old_default_key_is_refused(settings, connection, db):
    from itsdangerous import URLSafeTimedSerializer

    from catalogue.passwords import password_fingerprint as _password_fingerprint

    user = make_user(db, email="a@example.org")
    db.commit()
    app = create_app(settings.replace(offre_env="production", secret_key=STRONG_KEY))
    app.extensions["offre"]["sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    forged = URLSafeTimedSerializer(DEFAULT_SECRET_KEY, salt="reinitialiser").dumps(
        {"uid": user.id, "fp": _password_fingerprint(user)})
    response = app.test_client().get(f"/reinitialiser/{forged}")
    assert response.status_code == 400 and "Ce lien est invalide" in response.get_data(as_text=True)


# ---------------------------------------------------------------- lifetimes


def test_an_idle_session_expires(client, db, settings):
    user = make_user(db, email="a@example.org")
    login(client, "a@example.org")
    db.execute(update(UserSession).values(last_seen_at=UserSession.last_seen_at - timedelta(minutes=119)))
    assert client.get("/espace").status_code == 200  # within SESSION_IDLE_MINUTES: goes on
    db.expire_all()
    last_seen = db.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == user.id))
    created = db.scalar(select(UserSession.created_at).where(UserSession.user_id == user.id))
    assert last_seen >= created  # the request moved it on
    db.execute(update(UserSession).values(last_seen_at=UserSession.last_seen_at - timedelta(minutes=121)))
    assert client.get("/espace").status_code == 302
    assert _sessions(db, user) == 0


def test_a_session_ends_after_its_maximum_lifetime_even_when_active(client, db):
    user = make_user(db, email="a@example.org")
    login(client, "a@example.org")
    db.execute(update(UserSession).values(created_at=UserSession.created_at - timedelta(hours=11, minutes=59)))
    assert client.get("/espace").status_code == 200
    db.execute(update(UserSession).values(created_at=UserSession.created_at - timedelta(minutes=2)))
    assert client.get("/espace").status_code == 302
    assert _sessions(db, user) == 0


def test_a_login_clears_the_expired_sessions_of_the_account(app, client, db):
    user = make_user(db, email="a@example.org")
    login(client, "a@example.org")
    db.execute(update(UserSession).values(created_at=UserSession.created_at - timedelta(hours=13)))
    login(app.test_client(), "a@example.org")
    assert _sessions(db, user) == 1


def test_the_lifetimes_are_settings(app, client, db, settings):
    app.extensions["offre"]["settings"] = settings.replace(session_idle_minutes=5, session_max_hours=1)
    make_user(db, email="a@example.org")
    login(client, "a@example.org")
    db.execute(update(UserSession).values(last_seen_at=UserSession.last_seen_at - timedelta(minutes=6)))
    assert client.get("/espace").status_code == 302
    assert Settings.from_env({"SESSION_IDLE_MINUTES": "30", "SESSION_MAX_HOURS": "8"}).session_max_hours == 8
