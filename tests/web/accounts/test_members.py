"""Joining a structure: invitation end to end, join requests decided by the
structure's admin or a moderator, the members page and who may use it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from catalogue.accounts import Invitation, JoinRequest, Membership, Role, User
from tests.auth_helpers import add_member, csrf_token, login, logout, make_moderator, make_user

PASSWORD = "une phrase de passe solide"


@pytest.fixture
def structure(factories):
    return factories.StructureFactory(nom="Mission locale de Laon", siret="13002526500013")


@pytest.fixture
def other(factories):
    return factories.StructureFactory(nom="Atelier d'Hirson", code_insee="02381", commune="Hirson")


def _memberships(db, structure):
    return {
        (email, role)
        for email, role in db.execute(
            select(User.email, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.structure_id == structure.id)
        )
    }


def test_invitation_creates_the_account_and_the_membership(client, db, inbox, structure):
    admin = make_user(db, email="admin@ml-laon.fr", nom="Alice Admin")
    add_member(db, admin, structure, Role.ADMIN)
    login(client, "admin@ml-laon.fr")
    page = client.get(f"/espace/structures/{structure.id}/membres")
    assert page.status_code == 200
    assert "Alice Admin" in page.get_data(as_text=True)

    sent = client.post(
        f"/espace/structures/{structure.id}/invitations",
        data={"csrf_token": csrf_token(client), "email": "Bruno@ML-Laon.fr", "role": "membre"},
    )
    assert sent.status_code == 303
    inbox.wait(1)
    message = inbox.last_to("bruno@ml-laon.fr")
    assert "Mission locale de Laon" in message["Subject"]
    assert "Alice Admin vous invite" in message.get_content()
    link = inbox.link("bruno@ml-laon.fr", "/invitation/")
    pending = client.get(f"/espace/structures/{structure.id}/membres").get_data(as_text=True)
    assert "bruno@ml-laon.fr" in pending

    # The invitee, in another browser, has no account yet.
    logout(client)
    form = client.get(link)
    assert form.status_code == 200
    assert "Créer mon compte et rejoindre la structure" in form.get_data(as_text=True)
    mismatch = client.post(link, data={"csrf_token": csrf_token(client), "password": PASSWORD, "password_confirm": "autre"})
    assert mismatch.status_code == 400
    assert db.scalar(select(User).where(User.email == "bruno@ml-laon.fr")) is None
    accepted = client.post(
        link, data={"csrf_token": csrf_token(client), "nom": "Bruno", "password": PASSWORD, "password_confirm": PASSWORD}
    )
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/espace"
    home = client.get("/espace").get_data(as_text=True)
    assert "Mission locale de Laon" in home
    assert ("bruno@ml-laon.fr", Role.MEMBRE) in _memberships(db, structure)
    bruno = db.scalar(select(User).where(User.email == "bruno@ml-laon.fr"))
    assert bruno.email_verified_at is not None
    # The link is spent.
    again = client.get(link)
    assert again.status_code == 400
    assert "déjà été acceptée" in again.get_data(as_text=True)
    # A plain member does not manage members.
    assert client.get(f"/espace/structures/{structure.id}/membres").status_code == 403


def test_invitation_of_an_existing_account_asks_to_log_in(client, db, inbox, structure):
    admin = make_user(db, email="admin@ml-laon.fr")
    add_member(db, admin, structure, Role.ADMIN)
    make_user(db, email="claire@example.org")
    login(client, "admin@ml-laon.fr")
    client.post(
        f"/espace/structures/{structure.id}/invitations",
        data={"csrf_token": csrf_token(client), "email": "claire@example.org", "role": "admin"},
    )
    inbox.wait(1)
    link = inbox.link("claire@example.org", "/invitation/")

    # Logged in as somebody else: refused, nothing changes.
    wrong = client.get(link)
    assert wrong.status_code == 403
    assert "autre adresse" in wrong.get_data(as_text=True)
    assert client.post(link, data={"csrf_token": csrf_token(client)}).status_code == 403
    logout(client)

    page = client.get(link).get_data(as_text=True)
    assert "Se connecter pour accepter" in page
    post = client.post(link, data={"csrf_token": csrf_token(client), "password": PASSWORD, "password_confirm": PASSWORD})
    assert post.status_code == 302 and post.headers["Location"].startswith("/connexion?next=")
    assert login(client, "claire@example.org", next=link).headers["Location"] == link
    assert client.post(link, data={"csrf_token": csrf_token(client)}).status_code == 302
    assert ("claire@example.org", Role.ADMIN) in _memberships(db, structure)
    assert db.scalar(select(Invitation.accepted_at).where(Invitation.email == "claire@example.org")) is not None


def test_cancelled_invitation_link_stops_working(client, db, inbox, structure):
    admin = make_user(db, email="admin@ml-laon.fr")
    add_member(db, admin, structure, Role.ADMIN)
    login(client, "admin@ml-laon.fr")
    client.post(
        f"/espace/structures/{structure.id}/invitations",
        data={"csrf_token": csrf_token(client), "email": "dora@example.org", "role": "membre"},
    )
    inbox.wait(1)
    link = inbox.link("dora@example.org", "/invitation/")
    invitation = db.scalar(select(Invitation).where(Invitation.email == "dora@example.org"))
    resend = client.post(
        f"/espace/structures/{structure.id}/invitations/{invitation.id}/renvoyer", data={"csrf_token": csrf_token(client)}
    )
    assert resend.status_code == 303
    inbox.wait(2)
    cancel = client.post(
        f"/espace/structures/{structure.id}/invitations/{invitation.id}/annuler", data={"csrf_token": csrf_token(client)}
    )
    assert cancel.status_code == 303
    logout(client)
    response = client.get(link)
    assert response.status_code == 400
    assert "existe plus" in response.get_data(as_text=True)


def test_invitation_form_errors(client, db, inbox, structure):
    admin = make_user(db, email="admin@ml-laon.fr")
    add_member(db, admin, structure, Role.ADMIN)
    login(client, "admin@ml-laon.fr")
    url = f"/espace/structures/{structure.id}/invitations"
    bad = client.post(url, data={"csrf_token": csrf_token(client), "email": "pas une adresse", "role": "chef"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "Adresse électronique : adresse invalide" in text
    assert "Rôle : choisissez" in text
    already = client.post(url, data={"csrf_token": csrf_token(client), "email": "admin@ml-laon.fr", "role": "membre"})
    assert already.status_code == 400
    assert "déjà membre" in already.get_data(as_text=True)
    no_csrf = client.post(url, data={"email": "x@example.org", "role": "membre"})
    assert no_csrf.status_code == 400
    assert db.scalar(select(func.count()).select_from(Invitation)) == 0
    assert inbox.envelopes == []


def _ask_to_join(client, structure, query):
    found = client.get("/espace/rejoindre", query_string={"q": query})
    assert found.status_code == 200
    assert structure.nom in found.get_data(as_text=True)
    return client.post(
        f"/espace/rejoindre/{structure.id}", data={"csrf_token": csrf_token(client), "message": "Conseillère depuis mars."}
    )


def test_join_request_found_by_name_approved_by_the_admin(client, db, inbox, structure):
    admin = make_user(db, email="admin@ml-laon.fr")
    add_member(db, admin, structure, Role.ADMIN)
    make_user(db, email="eve@example.org")
    login(client, "eve@example.org")
    assert _ask_to_join(client, structure, "mission LOCALE de laon").status_code == 303
    inbox.wait(1)
    assert "eve@example.org" in inbox.last_to("admin@ml-laon.fr").get_content()
    assert "en attente" in client.get("/espace").get_data(as_text=True)
    twice = client.post(f"/espace/rejoindre/{structure.id}", data={"csrf_token": csrf_token(client)})
    assert twice.status_code == 303
    assert db.scalar(select(func.count()).select_from(JoinRequest)) == 1
    logout(client)

    login(client, "admin@ml-laon.fr")
    page = client.get(f"/espace/structures/{structure.id}/membres").get_data(as_text=True)
    assert "Conseillère depuis mars." in page
    jr = db.scalar(select(JoinRequest))
    decided = client.post(
        f"/espace/structures/{structure.id}/demandes/{jr.id}/accepter",
        data={"csrf_token": csrf_token(client), "role": "membre"},
    )
    assert decided.status_code == 303
    db.refresh(jr)
    assert jr.status == "acceptee" and jr.decided_by_id == admin.id and jr.decided_at is not None
    assert ("eve@example.org", Role.MEMBRE) in _memberships(db, structure)
    inbox.wait(2)
    assert "acceptée" in inbox.last_to("eve@example.org").get_content()
    # Deciding twice changes nothing.
    client.post(f"/espace/structures/{structure.id}/demandes/{jr.id}/refuser", data={"csrf_token": csrf_token(client)})
    db.refresh(jr)
    assert jr.status == "acceptee"


def test_join_request_found_by_siret_approved_by_a_moderator(client, db, inbox, structure):
    moderator = make_user(db, email="moderation@aisne.fr")
    make_moderator(db, moderator, departement="02")
    make_user(db, email="fanny@example.org")
    login(client, "fanny@example.org")
    assert _ask_to_join(client, structure, "130 025 265 00013").status_code == 303
    inbox.wait(1)
    # No admin in the structure yet: the SPIE contact address is told.
    assert inbox.envelopes[-1].rcpt_tos == ["spie@example.org"]
    logout(client)
    login(client, "moderation@aisne.fr")
    jr = db.scalar(select(JoinRequest))
    response = client.post(
        f"/espace/structures/{structure.id}/demandes/{jr.id}/accepter",
        data={"csrf_token": csrf_token(client), "role": "admin"},
    )
    assert response.status_code == 303
    assert ("fanny@example.org", Role.ADMIN) in _memberships(db, structure)
    db.refresh(jr)
    assert jr.decided_by_id == moderator.id


def test_join_request_refused(client, db, inbox, structure):
    admin = make_user(db, email="admin@ml-laon.fr")
    add_member(db, admin, structure, Role.ADMIN)
    user = make_user(db, email="gaston@example.org")
    db.add(JoinRequest(structure_id=structure.id, user_id=user.id))
    db.flush()
    jr = db.scalar(select(JoinRequest))
    login(client, "admin@ml-laon.fr")
    client.post(f"/espace/structures/{structure.id}/demandes/{jr.id}/refuser", data={"csrf_token": csrf_token(client)})
    db.refresh(jr)
    assert jr.status == "refusee" and jr.decided_by_id == admin.id
    assert ("gaston@example.org", Role.MEMBRE) not in _memberships(db, structure)
    inbox.wait(1)
    assert "refusée" in inbox.last_to("gaston@example.org").get_content()
    page = client.get(f"/espace/structures/{structure.id}/membres").get_data(as_text=True)
    assert "refusée" in page and "par admin@ml-laon.fr" in page


def test_outsiders_cannot_manage_members(client, db, inbox, structure, other):
    """An admin of another structure, a plain member, a moderator of another
    département: 403 on every members route, and the data unchanged."""
    admin = make_user(db, email="admin@ml-laon.fr")
    admin_m = add_member(db, admin, structure, Role.ADMIN)
    applicant = make_user(db, email="henri@example.org")
    db.add(JoinRequest(structure_id=structure.id, user_id=applicant.id))
    db.add(Invitation(structure_id=structure.id, email="ines@example.org", role=Role.MEMBRE, invited_by_id=admin.id))
    db.flush()
    jr = db.scalar(select(JoinRequest))
    invitation = db.scalar(select(Invitation))
    intruder = make_user(db, email="admin@hirson.fr")
    add_member(db, intruder, other, Role.ADMIN)
    member = make_user(db, email="membre@ml-laon.fr")
    add_member(db, member, structure, Role.MEMBRE)
    far_moderator = make_user(db, email="moderation@nord.fr")
    make_moderator(db, far_moderator, departement="59")
    before = _memberships(db, structure)

    sid = structure.id
    for email in ("admin@hirson.fr", "membre@ml-laon.fr", "moderation@nord.fr"):
        login(client, email)
        token = csrf_token(client)
        assert client.get(f"/espace/structures/{sid}/membres").status_code == 403, email
        posts = [
            (f"/espace/structures/{sid}/invitations", {"email": "pirate@example.org", "role": "admin"}),
            (f"/espace/structures/{sid}/membres/{admin_m.id}/role", {"role": "membre"}),
            (f"/espace/structures/{sid}/membres/{admin_m.id}/retirer", {}),
            (f"/espace/structures/{sid}/invitations/{invitation.id}/annuler", {}),
            (f"/espace/structures/{sid}/invitations/{invitation.id}/renvoyer", {}),
            (f"/espace/structures/{sid}/demandes/{jr.id}/accepter", {"role": "admin"}),
            (f"/espace/structures/{sid}/demandes/{jr.id}/refuser", {}),
        ]
        for url, data in posts:
            assert client.post(url, data={"csrf_token": token, **data}).status_code == 403, (email, url)
        logout(client)

    # The admin of the other structure cannot reach this one's items through its own either.
    login(client, "admin@hirson.fr")
    token = csrf_token(client)
    assert client.post(
        f"/espace/structures/{other.id}/membres/{admin_m.id}/retirer", data={"csrf_token": token}
    ).status_code == 404
    assert client.post(
        f"/espace/structures/{other.id}/demandes/{jr.id}/accepter", data={"csrf_token": token}
    ).status_code == 404
    assert client.post(
        f"/espace/structures/{other.id}/invitations/{invitation.id}/annuler", data={"csrf_token": token}
    ).status_code == 404

    assert _memberships(db, structure) == before
    db.refresh(jr)
    assert jr.status == "en_attente" and jr.decided_by_id is None
    assert db.scalar(select(func.count()).select_from(Invitation)) == 1
    assert inbox.envelopes == []
    # Anonymous visitors go to the login page; unknown structures are 404.
    logout(client)
    assert client.get(f"/espace/structures/{sid}/membres").status_code == 302
    login(client, "admin@ml-laon.fr")
    assert client.get("/espace/structures/00000000-0000-0000-0000-000000000000/membres").status_code == 404
    assert client.get("/espace/structures/pas-un-uuid/membres").status_code == 404


def test_change_role_and_remove_member(client, db, structure):
    admin = make_user(db, email="admin@ml-laon.fr")
    admin_m = add_member(db, admin, structure, Role.ADMIN)
    member = make_user(db, email="jade@example.org")
    member_m = add_member(db, member, structure, Role.MEMBRE)
    login(client, "admin@ml-laon.fr")
    base = f"/espace/structures/{structure.id}/membres"
    # The last admin can be neither demoted nor removed.
    client.post(f"{base}/{admin_m.id}/role", data={"csrf_token": csrf_token(client), "role": "membre"})
    assert ("admin@ml-laon.fr", Role.ADMIN) in _memberships(db, structure)
    refused = client.post(f"{base}/{admin_m.id}/retirer", data={"csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "dernier administrateur" in refused.get_data(as_text=True)
    bad = client.post(f"{base}/{member_m.id}/role", data={"csrf_token": csrf_token(client), "role": "roi"}, follow_redirects=True)
    assert "Rôle : choisissez" in bad.get_data(as_text=True)

    client.post(f"{base}/{member_m.id}/role", data={"csrf_token": csrf_token(client), "role": "admin"})
    assert ("jade@example.org", Role.ADMIN) in _memberships(db, structure)
    client.post(f"{base}/{admin_m.id}/retirer", data={"csrf_token": csrf_token(client)})
    assert _memberships(db, structure) == {("jade@example.org", Role.ADMIN)}
    # Removed, the former admin has lost access.
    assert client.get(base).status_code == 403


def test_join_search_errors_and_archived_structures(client, db, factories):
    from catalogue.models import Status

    factories.StructureFactory(nom="Chantier archivé", status=Status.ARCHIVE)
    make_user(db, email="kim@example.org")
    login(client, "kim@example.org")
    short = client.get("/espace/rejoindre", query_string={"q": "ab"})
    assert short.status_code == 400
    assert "3 caractères au moins" in short.get_data(as_text=True)
    none = client.get("/espace/rejoindre", query_string={"q": "Chantier archivé"}).get_data(as_text=True)
    assert "0 structure trouvée" in none
    percent = client.get("/espace/rejoindre", query_string={"q": "%%%"}).get_data(as_text=True)
    assert "0 structure trouvée" in percent


def test_members_page_is_accessible_markup(client, db, structure):
    admin = make_user(db, email="admin@ml-laon.fr")
    add_member(db, admin, structure, Role.ADMIN)
    login(client, "admin@ml-laon.fr")
    text = client.get(f"/espace/structures/{structure.id}/membres").get_data(as_text=True)
    assert text.count('method="post"') == text.count('name="csrf_token"')
    import re

    for field_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', text):
        assert f'for="{field_id}"' in text, field_id


def test_join_search_leaves_out_only_structures_hidden_as_duplicates(db, factories):
    from catalogue.members import search_structures

    original = factories.StructureFactory(nom="Mission locale du Laonnois")
    sure = factories.StructureFactory(nom="Mission locale du Laonnois (DORA)", duplicate_of_id=original.id,
                                      duplicate_hidden=True)
    proposed = factories.StructureFactory(nom="Mission locale du Laonnois - antenne de Marle",
                                          duplicate_of_id=original.id, duplicate_score=0.7)
    db.flush()
    found = search_structures(db, "mission locale du laonnois")
    assert original in found and proposed in found and sure not in found
