"""CTO memberships: who may give them (administrators; a moderator for the
territories of their scope), what they open (the committees of a territory, or
one committee), and the command line that does the same."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from catalogue import cto, permissions
from catalogue.cto import Committee, CtoMembership
from tests.auth_helpers import make_moderator, make_user
from tests.web.cto.conftest import log_in, make_territory
from web.commands.accounts import user_group

IN_A_MONTH = date.today() + timedelta(days=30)


@pytest.fixture
def territories(db):
    make_territory(db, "laonnois", "Laonnois", ["02408"])
    make_territory(db, "abbevillois", "Abbevillois", ["80001"])
    db.commit()


def _memberships(db, user) -> list[CtoMembership]:
    db.expire_all()
    return list(db.scalars(select(CtoMembership).where(CtoMembership.user_id == user.id)))


def test_a_moderator_grants_and_revokes_for_their_territory_only(db, client, territories, token):
    moderator = make_user(db, email="moderation-02@example.org")
    make_moderator(db, moderator, departement="02")
    person = make_user(db, email="referente@example.org")
    committee = cto.create_committee(db, "laonnois", IN_A_MONTH, None)
    db.commit()
    log_in(client, person)
    assert client.get("/cto").status_code == 403
    assert client.get(f"/cto/comites/{committee.public_id}").status_code == 403

    log_in(client, moderator)
    page = client.get("/cto/acces").get_data(as_text=True)
    assert "Laonnois" in page and "Abbevillois" not in page  # only the territories of the scope
    r = client.post("/cto/acces", data={"csrf_token": token(), "courriel": "Referente@example.org",
                                        "territoire": "laonnois"})
    assert r.status_code == 303
    [membership] = _memberships(db, person)
    assert membership.territory_slug == "laonnois" and membership.granted_by_id == moderator.id
    # Outside the scope: refused, nothing given.
    r = client.post("/cto/acces", data={"csrf_token": token(), "courriel": "referente@example.org",
                                        "territoire": "abbevillois"})
    assert r.status_code == 403 and len(_memberships(db, person)) == 1

    # The territory's committees open to the person (the moderator did not read them).
    log_in(client, person)
    assert client.get(f"/cto/comites/{committee.public_id}").status_code == 200
    assert client.get("/pilotage").status_code == 200
    assert client.get("/cto/acces").status_code == 403  # members do not grant

    log_in(client, moderator)
    assert client.post(f"/cto/acces/{membership.id}/retirer", data={"csrf_token": token()}).status_code == 303
    assert _memberships(db, person) == []
    log_in(client, person)
    assert client.get(f"/cto/comites/{committee.public_id}").status_code == 403


def test_another_departement_moderator_cannot_revoke(db, client, territories, token):
    person = make_user(db, email="referente@example.org")
    membership = cto.grant(db, person.id, territory_slug="laonnois")
    other = make_user(db, email="moderation-80@example.org")
    make_moderator(db, other, departement="80")
    db.commit()
    log_in(client, other)
    assert "referente@example.org" not in client.get("/cto/acces").get_data(as_text=True)
    assert client.post(f"/cto/acces/{membership.id}/retirer", data={"csrf_token": token()}).status_code == 403
    assert len(_memberships(db, person)) == 1


def test_an_administrator_grants_one_committee(db, client, territories, token):
    admin = make_user(db, email="admin@example.org", is_admin=True)
    person = make_user(db, email="referente@example.org")
    first = cto.create_committee(db, "laonnois", IN_A_MONTH, None)
    second = cto.create_committee(db, "laonnois", IN_A_MONTH + timedelta(days=7), None)
    db.commit()
    log_in(client, admin)
    r = client.post("/cto/acces", data={"csrf_token": token(), "courriel": "referente@example.org",
                                        "comite": str(first.public_id)})
    assert r.status_code == 303
    log_in(client, person)
    assert client.get(f"/cto/comites/{first.public_id}").status_code == 200
    assert client.get(f"/cto/comites/{second.public_id}").status_code == 403
    # A committee member does not create committees of the territory.
    r = client.post("/cto/comites", data={"csrf_token": token(), "territoire": "laonnois",
                                          "date": IN_A_MONTH.isoformat()})
    assert r.status_code == 403


@pytest.mark.parametrize(("data", "field"), [
    ({"courriel": "pas-une-adresse", "territoire": "laonnois"}, "Courriel"),
    ({"courriel": "inconnue@example.org", "territoire": "laonnois"}, "aucun compte actif"),
    ({"courriel": "referente@example.org"}, "un territoire ou un comité"),
    ({"courriel": "referente@example.org", "territoire": "laonnois", "comite": "x"}, "un territoire ou un comité"),
    ({"courriel": "referente@example.org", "comite": "12"}, "Comité : choisissez"),
    ({"courriel": "referente@example.org", "territoire": "nulle-part"}, "Territoire : choisissez"),
])
def test_bad_grant_input_is_named(db, client, territories, token, data, field):
    admin = make_user(db, email="admin@example.org", is_admin=True)
    person = make_user(db, email="referente@example.org")
    db.commit()
    log_in(client, admin)
    r = client.post("/cto/acces", data={"csrf_token": token(), **data})
    assert r.status_code == 400 and field in r.get_data(as_text=True)
    assert _memberships(db, person) == []


def test_granted_twice_is_refused_by_name(db, client, territories, token):
    admin = make_user(db, email="admin@example.org", is_admin=True)
    make_user(db, email="referente@example.org")
    db.commit()
    log_in(client, admin)
    data = {"csrf_token": token(), "courriel": "referente@example.org", "territoire": "laonnois"}
    assert client.post("/cto/acces", data=data).status_code == 303
    r = client.post("/cto/acces", data=data)
    assert r.status_code == 400 and "déjà cet accès" in r.get_data(as_text=True)


def test_the_rules_themselves(db, territories):
    admin = make_user(db, email="admin@example.org", is_admin=True)
    moderator = make_user(db, email="moderation-02@example.org")
    make_moderator(db, moderator, departement="02")
    territory_moderator = make_user(db, email="moderation-laonnois@example.org")
    make_moderator(db, territory_moderator, territory="laonnois")
    nobody = make_user(db, email="inscrite@example.org")
    assert permissions.moderated_territories(db, admin) is None
    assert permissions.moderated_territories(db, moderator) == {"laonnois"}
    assert permissions.moderated_territories(db, territory_moderator) == {"laonnois"}
    assert permissions.moderated_territories(db, nobody) == set()
    assert permissions.can_grant_cto(db, moderator, "laonnois")
    assert not permissions.can_grant_cto(db, moderator, "abbevillois")
    assert not permissions.can_grant_cto(db, nobody, "laonnois")
    assert not permissions.has_cto_access(db, nobody) and not permissions.can_see_steering(db, nobody)
    assert not permissions.has_cto_access(db, None)
    committee = cto.create_committee(db, "laonnois", IN_A_MONTH, None)
    # A moderator reads a committee only once they are one of its members.
    assert not permissions.can_read_committee(db, moderator, committee)
    cto.grant(db, moderator.id, committee=committee, granted_by_id=moderator.id)
    assert permissions.can_read_committee(db, moderator, committee)


def test_the_command_line(app, db, territories):
    person = make_user(db, email="referente@example.org")
    committee = cto.create_committee(db, "laonnois", IN_A_MONTH, None)
    db.commit()
    runner = app.test_cli_runner()
    r = runner.invoke(user_group, ["cto-acces", "Referente@example.org", "--territoire", "laonnois"])
    assert r.exit_code == 0, r.output
    assert "Accès au CTO donné à referente@example.org : territoire laonnois." in r.output
    r = runner.invoke(user_group, ["cto-acces", "referente@example.org", "--comite", str(committee.public_id)])
    assert r.exit_code == 0, r.output
    assert len(_memberships(db, person)) == 2
    listing = runner.invoke(user_group, ["cto-liste"]).output
    assert "referente@example.org\tterritoire laonnois" in listing and str(committee.public_id) in listing
    # Bad input is explained, and changes nothing.
    for args, message in [
        (["cto-acces", "inconnue@example.org", "--territoire", "laonnois"], "aucun compte"),
        (["cto-acces", "referente@example.org"], "l'un des deux"),
        (["cto-acces", "referente@example.org", "--territoire", "nulle-part"], "territoire inconnu"),
        (["cto-acces", "referente@example.org", "--comite", "12"], "identifiant de comité invalide"),
        (["cto-acces", "referente@example.org", "--territoire", "laonnois"], "déjà cet accès"),
    ]:
        r = runner.invoke(user_group, args)
        assert r.exit_code != 0 and message in r.output, (args, r.output)
    assert len(_memberships(db, person)) == 2
    r = runner.invoke(user_group, ["cto-retirer", "referente@example.org", "--territoire", "laonnois"])
    assert r.exit_code == 0, r.output
    assert [m.committee_id for m in _memberships(db, person)] == [committee.id]
    r = runner.invoke(user_group, ["cto-retirer", "referente@example.org", "--territoire", "laonnois"])
    assert r.exit_code != 0 and "n'a pas cet accès" in r.output
    assert db.get(Committee, committee.id) is not None


def test_a_list_read_on_an_agenda_cannot_be_carried_to_another_committee(db, client, territories, token):
    """A member of committees B and C reads, on B's agenda, a list of another
    referent; they may not put it on C's agenda (C's members would read it), unless
    its owner shares it."""
    owner = make_user(db, email="proprietaire@example.org")
    member = make_user(db, email="membre-b-et-c@example.org")
    b = cto.create_committee(db, "laonnois", IN_A_MONTH, None)
    c = cto.create_committee(db, "laonnois", IN_A_MONTH + timedelta(days=7), None)
    for committee in (b, c):
        cto.grant(db, member.id, committee=committee)
    cto.grant(db, owner.id, committee=b)
    listed = cto.save_shortlist(db, code_commune="02408", publics=[], barriers=["mobilite"], constraints={},
                                remarks="Travaille de nuit", results={"mobilite": []}, days=30, user_id=owner.id,
                                now=datetime.now(UTC))
    cto.add_situation(db, b, "DOS-1", listed.id, owner.id)
    db.commit()
    log_in(client, member)
    assert "Travaille de nuit" in client.get(f"/cto/listes/{listed.token}").get_data(as_text=True)
    r = client.post(f"/cto/comites/{c.public_id}/situations",
                    data={"csrf_token": token(), "reference": "DOS-2", "liste": f"/cto/listes/{listed.token}"})
    assert r.status_code == 400 and "non partagé" in r.get_data(as_text=True)
    assert db.get(Committee, c.id).situations == []
    cto.share(listed)
    db.commit()
    r = client.post(f"/cto/comites/{c.public_id}/situations",
                    data={"csrf_token": token(), "reference": "DOS-2", "liste": f"/cto/partage/{listed.share_token}"})
    assert r.status_code == 303


def test_control_characters_are_refused_by_name(db, client, territories, token, pro):
    """A NUL byte in a field or a URL segment of the CTO pages: a 400 (or an unknown
    page), never a server error."""
    admin = make_user(db, email="admin@example.org", is_admin=True)
    committee = cto.create_committee(db, "laonnois", IN_A_MONTH, pro.id)
    db.commit()
    log_in(client, admin)
    r = client.post("/cto/acces", data={"csrf_token": token(), "courriel": "a\x00@example.org", "territoire": "laonnois"})
    assert r.status_code == 400 and "courriel" in r.get_data(as_text=True).lower()
    log_in(client, pro)
    r = client.post("/cto/comites", data={"csrf_token": token(), "territoire": "laon\x00nois",
                                          "date": IN_A_MONTH.isoformat()})
    assert r.status_code == 400 and "territoire" in r.get_data(as_text=True).lower()
    r = client.post(f"/cto/comites/{committee.public_id}/situations",
                    data={"csrf_token": token(), "reference": "DOS-1", "liste": "abc\x00def"})
    assert r.status_code == 400
    for url in ("/cto/listes/abc%00def", "/cto/partage/abc%00def", "/cto/listes/abc%00def.pdf"):
        # refused by the input guard, which names the URL segment (web/input_guard.py)
        assert client.get(url).status_code in (400, 404), url
