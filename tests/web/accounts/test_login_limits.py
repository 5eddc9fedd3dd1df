"""Failed logins slow an attacker down with growing waits, per account from one
address and per address; the owner is never locked out (issue #15, point 6)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from catalogue.accounts import LoginAttempt
from catalogue.login_limits import delay_after
from tests.auth_helpers import DEFAULT_PASSWORD, csrf_token, login, make_user


def _login_from(client, ip: str, email: str, password: str):
    return client.post(
        "/connexion",
        data={"csrf_token": csrf_token(client), "email": email, "password": password},
        environ_overrides={"REMOTE_ADDR": ip},
    )


def _age_attempts(db, seconds: int) -> None:
    db.execute(update(LoginAttempt).values(at=LoginAttempt.at - timedelta(seconds=seconds)))
    db.flush()


def _failures(db, email: str) -> int:
    return db.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.email == email))


def test_the_wait_doubles_after_the_free_failures_and_is_capped():
    assert [delay_after(n, 3, 900) for n in range(8)] == [0, 0, 0, 2, 4, 8, 16, 32]
    assert delay_after(13, 3, 900) == 900
    assert delay_after(10_000, 3, 900) == 900


def test_after_the_free_failures_the_next_try_waits_even_with_the_right_password(client, db):
    make_user(db, email="cible@example.org")
    for _ in range(3):
        assert login(client, "cible@example.org", "mauvais").status_code == 401
    blocked = login(client, "cible@example.org", DEFAULT_PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] in ("1", "2")
    text = blocked.get_data(as_text=True)
    assert "Trop de tentatives de connexion échouées" in text and "patientez" in text
    assert client.get("/espace").status_code == 302
    assert _failures(db, "cible@example.org") == 3  # a refused try is not counted

    _age_attempts(db, 3)  # the wait is over
    assert login(client, "cible@example.org", DEFAULT_PASSWORD).status_code == 302
    assert _failures(db, "cible@example.org") == 0  # success forgets the failures


def test_each_new_failure_doubles_the_wait(client, db):
    make_user(db, email="cible@example.org")
    waits = []
    for _ in range(6):
        response = login(client, "cible@example.org", "mauvais")
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            _age_attempts(db, waits[-1])
            assert login(client, "cible@example.org", "mauvais").status_code == 401
    assert waits == [2, 4, 8]


def test_the_owner_logs_in_from_another_address_whatever_others_tried(client, db):
    make_user(db, email="cible@example.org")
    for i in range(40):  # an attacker, from many addresses
        _login_from(client, f"203.0.113.{i % 10}", "cible@example.org", "mauvais")
    assert _login_from(client, "203.0.113.1", "cible@example.org", DEFAULT_PASSWORD).status_code == 429
    owner = _login_from(client, "198.51.100.20", "cible@example.org", DEFAULT_PASSWORD)
    assert owner.status_code == 302
    assert client.get("/espace").status_code == 200


def test_one_address_trying_many_accounts_is_slowed_down(client, db):
    make_user(db, email="victime@example.org")
    for i in range(30):
        assert _login_from(client, "203.0.113.9", f"essai{i}@example.org", "mauvais").status_code == 401
    blocked = _login_from(client, "203.0.113.9", "victime@example.org", DEFAULT_PASSWORD)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    # Nobody else is slowed down.
    assert _login_from(client, "198.51.100.7", "victime@example.org", DEFAULT_PASSWORD).status_code == 302


def test_old_failures_do_not_count(client, db):
    make_user(db, email="patient@example.org")
    for _ in range(6):
        login(client, "patient@example.org", "mauvais")
        _age_attempts(db, 1000)
    _age_attempts(db, 24 * 3600)
    assert login(client, "patient@example.org", "mauvais").status_code == 401  # counted anew
    assert login(client, "patient@example.org").status_code == 302


def test_the_settings_change_the_policy(app, client, db, settings):
    app.extensions["offre"]["settings"] = settings.replace(login_free_failures=1, login_max_delay_seconds=5)
    make_user(db, email="cible@example.org")
    assert login(client, "cible@example.org", "mauvais").status_code == 401
    assert login(client, "cible@example.org", "mauvais").status_code == 429
    for _ in range(5):
        _age_attempts(db, 10)
        assert login(client, "cible@example.org", "mauvais").status_code == 401
    assert login(client, "cible@example.org", "mauvais").headers["Retry-After"] == "5"  # capped
