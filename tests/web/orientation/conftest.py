"""Fixtures of the orientation tests: the back-office world (structures A and B,
a user of each role, a CTO member), the local SMTP server, and helpers."""

from __future__ import annotations

import email
import time
from email import policy

import pytest

from tests.auth_helpers import csrf_token, log_in_as
from tests.web.backoffice.conftest import smtp, world  # noqa: F401  (fixtures)

NEED = "mobilite--preparer-un-permis"


def as_user(client, user) -> None:
    with client.session_transaction() as s:
        s.clear()
    if user is not None:
        log_in_as(client, user)


def post(client, url: str, data: dict | None = None, **kw):
    return client.post(url, data={"csrf_token": csrf_token(client), **(data or {})}, **kw)


def mails(inbox, count: int = 1, timeout: float = 5.0) -> list:
    """The messages received, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while len(inbox.messages) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return [email.message_from_bytes(m.content, policy=policy.default) for m in inbox.messages]


def orient_form(**kw) -> dict:
    return {"nom": "Marie Curie", "contact": "06 12 34 56 78", "besoins": NEED,
            "message": "Cherche un permis pour un emploi à Laon.", "consentement": "oui", **kw}


@pytest.fixture
def sent(client, world, smtp):  # noqa: F811
    """An orientation sent by the referent (« verifie ») to structure A through the form."""
    referent = world["users"]["verifie"]
    as_user(client, referent)
    r = post(client, f"/services/{world['a_pub'].id}/orienter", orient_form())
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    public_id = r.headers["Location"].rsplit("/", 1)[-1]
    return {"url": f"/orientations/{public_id}", "public_id": public_id, "referent": referent}
