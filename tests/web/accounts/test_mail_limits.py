"""Account e-mails are rate-limited: an address gets at most 3 in an hour
(registration, verification link, password reset), an IP may ask for at most 20;
past that, a clear refusal (429) and no e-mail."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from catalogue.accounts import MailRequest
from tests.auth_helpers import make_user, page_csrf_token


@pytest.fixture
def settings(settings):
    """These per-address and per-IP counts alone: the request limiter in front of the
    same forms (ACCOUNT_MAIL_RATE_LIMIT, tests/web/test_abuse_limits.py) is off here."""
    return settings.replace(account_mail_rate_limit="")


def _forgot(client, email, ip="10.0.0.1"):
    token = page_csrf_token(client, "/mot-de-passe-oublie")
    return client.post("/mot-de-passe-oublie", data={"csrf_token": token, "email": email},
                       environ_base={"REMOTE_ADDR": ip})


def _register(client, email, ip="10.0.0.1"):
    token = page_csrf_token(client, "/inscription")
    return client.post(
        "/inscription",
        data={"csrf_token": token, "email": email, "nom": "N", "password": "une phrase de passe solide",
              "password_confirm": "une phrase de passe solide"},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_a_fourth_reset_mail_in_an_hour_is_refused(client, db, inbox):
    make_user(db, email="cible@example.org")
    for _ in range(3):
        assert _forgot(client, "cible@example.org").status_code == 200
    inbox.wait(3)
    refused = _forgot(client, "cible@example.org", ip="10.0.0.2")  # another IP: the address counts
    assert refused.status_code == 429
    assert "Trop de courriels demandés" in refused.get_data(as_text=True)
    time.sleep(0.5)
    assert len(inbox.envelopes) == 3


def test_unknown_addresses_are_counted_the_same(client, db, inbox):
    # Same answers with or without an account: the limit reveals nothing.
    for _ in range(3):
        assert _forgot(client, "personne@example.org").status_code == 200
    assert _forgot(client, "personne@example.org").status_code == 429
    assert inbox.envelopes == []


def test_an_ip_asking_for_many_addresses_is_stopped(client, db, inbox):
    for i in range(20):
        assert _register(client, f"a{i}@example.org").status_code == 200
    refused = _register(client, "a20@example.org")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3600"
    assert "Trop de courriels demandés" in refused.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(MailRequest)) == 20
    # Another network is not affected.
    assert _register(client, "b@example.org", ip="10.9.9.9").status_code == 200


def test_requests_older_than_an_hour_no_longer_count(client, db, inbox):
    for _ in range(3):
        _forgot(client, "vieux@example.org")
    db.execute(update(MailRequest).values(at=datetime.now(UTC) - timedelta(minutes=61)))
    assert _forgot(client, "vieux@example.org").status_code == 200
