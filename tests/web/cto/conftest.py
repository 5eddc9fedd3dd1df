"""Fixtures of the CTO and steering tests: logged-in professionals and moderators,
a territory."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from catalogue.cto import CtoMembership
from tests.auth_helpers import csrf_token, log_in_as, make_moderator, make_user


def log_in(client, user) -> None:
    log_in_as(client, user)


@pytest.fixture
def pro(db, client):
    """A verified professional (a referent) with a CTO membership for the
    territory « laonnois », logged in on `client`."""
    user = make_user(db, email="referente@example.org")
    db.add(CtoMembership(user_id=user.id, territory_slug="laonnois"))
    db.flush()
    log_in(client, user)
    return user


@pytest.fixture
def moderator(db, client):
    user = make_user(db, email="moderation@example.org")
    make_moderator(db, user, departement="02")
    log_in(client, user)
    return user


@pytest.fixture
def token(client):
    return lambda: csrf_token(client)


def make_territory(db, slug: str, nom: str, communes: list[str]) -> None:
    db.execute(
        text("INSERT INTO geo_territory (slug, nom, communes) VALUES (:s, :n, CAST(:c AS varchar[]))"),
        {"s": slug, "n": nom, "c": communes},
    )
    db.flush()
