"""Fixtures of the back-office tests: two structures A and B, and a user of each
role, logged in by setting the session as web/auth.py does."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from catalogue import cto
from catalogue.models import Status
from tests.auth_helpers import add_member, csrf_token, log_in_as, make_moderator, make_user
from tests.web.cto.conftest import make_territory


@pytest.fixture
def world(db, factories):
    a = factories.StructureFactory(nom="Structure A", code_insee="02408", commune="Laon")
    b = factories.StructureFactory(nom="Structure B", code_insee="02691", commune="Saint-Quentin")
    a_pub = factories.ServiceFactory(structure=a, nom="Offre publiée de A")
    b_pub = factories.ServiceFactory(structure=b, nom="Offre publiée de B", code_insee="02691", commune="Saint-Quentin")
    b_draft = factories.ServiceFactory(structure=b, nom="Brouillon secret de B", status=Status.BROUILLON,
                                       code_insee="02691", commune="Saint-Quentin")
    users = {
        "verifie": make_user(db, email="verifie@example.org"),
        "membre_a": make_user(db, email="membre-a@example.org"),
        "admin_a": make_user(db, email="admin-a@example.org"),
        "membre_b": make_user(db, email="membre-b@example.org"),
        "moderateur_autre": make_user(db, email="moderateur-80@example.org"),
        "moderateur": make_user(db, email="moderateur-02@example.org"),
        "administrateur": make_user(db, email="admin@example.org", is_admin=True),
    }
    add_member(db, users["membre_a"], a)
    add_member(db, users["admin_a"], a, "admin")
    add_member(db, users["membre_b"], b)
    make_moderator(db, users["moderateur_autre"], departement="80")
    make_moderator(db, users["moderateur"], departement="02")
    # A member of the CTO (committee A of the Laonnois), and nothing else.
    make_territory(db, "laonnois", "Laonnois", ["02408"])
    committee_a = cto.create_committee(db, "laonnois", date.today() + timedelta(days=30), None)
    users["membre_cto_a"] = make_user(db, email="membre-cto-a@example.org")
    cto.grant(db, users["membre_cto_a"].id, committee=committee_a)
    db.commit()
    return {"a": a, "b": b, "a_pub": a_pub, "b_pub": b_pub, "b_draft": b_draft, "users": users,
            "committee_a": committee_a}


def log_in(client, user) -> None:
    log_in_as(client, user)


@pytest.fixture
def as_user(client):
    def _as(user):
        log_in(client, user)
        return client

    return _as


def post(client, url: str, data: dict | None = None, **kw):
    payload = {"csrf_token": csrf_token(client), **(data or {})}
    return client.post(url, data=payload, **kw)


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(app):
    """A local SMTP server (aiosmtpd); the app's settings point to it."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings = app.extensions["offre"]["settings"]
    app.extensions["offre"]["settings"] = settings.replace(smtp_host="127.0.0.1", smtp_port=port)
    yield inbox
    controller.stop()


def text_of(response) -> str:
    return response.get_data(as_text=True)
