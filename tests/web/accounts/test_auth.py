"""Registration, e-mail verification, login, logout, password reset, rate
limiting, CSRF, session rotation and the `next` parameter."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from sqlalchemy import func, select

from catalogue.accounts import User
from tests.auth_helpers import DEFAULT_PASSWORD, csrf_token, login, make_user, page_csrf_token

PASSWORD = "une phrase de passe solide"


def _register(client, email="nouvelle@example.org", password=PASSWORD, confirm=None, nom="Nadia Nouvelle"):
    return client.post(
        "/inscription",
        data={
            "csrf_token": page_csrf_token(client, "/inscription"),
            "email": email,
            "nom": nom,
            "password": password,
            "password_confirm": confirm if confirm is not None else password,
        },
    )


def test_register_verify_then_login(client, db, inbox):
    response = _register(client, email="Nouvelle@Example.org")
    assert response.status_code == 200
    assert "Un courriel vient d'être envoyé à" in response.get_data(as_text=True)
    user = db.scalar(select(User).where(User.email == "nouvelle@example.org"))
    assert user is not None and user.email_verified_at is None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash

    inbox.wait(1)
    message = inbox.last_to("nouvelle@example.org")
    assert "Confirmez votre adresse" in message["Subject"]
    link = inbox.link("nouvelle@example.org", "/verifier/")

    # Not verified yet: login is refused with an explanation, and the link is sent again.
    refused = login(client, "nouvelle@example.org", PASSWORD)
    assert refused.status_code == 403
    assert "pas encore confirmée" in refused.get_data(as_text=True)
    inbox.wait(2)

    verified = client.get(link)
    assert verified.status_code == 302 and verified.headers["Location"].endswith("/connexion")
    db.refresh(user)
    assert user.email_verified_at is not None

    logged = login(client, "nouvelle@example.org", PASSWORD)
    assert logged.status_code == 302
    assert logged.headers["Location"] == "/espace"
    home = client.get("/espace")
    assert home.status_code == 200
    assert "Nadia Nouvelle" in home.get_data(as_text=True)


def test_registration_errors_name_the_field(client, db, inbox):
    response = _register(client, email="pas-une-adresse", password="court", confirm="court")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Adresse électronique : adresse invalide" in text
    assert "Mot de passe : 12 caractères au moins." in text
    mismatch = _register(client, password=PASSWORD, confirm=PASSWORD + "x")
    assert mismatch.status_code == 400
    assert "les deux saisies diffèrent" in mismatch.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(User)) == 0
    assert inbox.envelopes == []


def test_registering_an_existing_address_reveals_nothing(client, db, inbox):
    make_user(db, email="deja@example.org")
    response = _register(client, email="deja@example.org")
    assert response.status_code == 200
    assert "Un courriel vient d'être envoyé à" in response.get_data(as_text=True)
    inbox.wait(1)
    assert "déjà un compte" in inbox.last_to("deja@example.org")["Subject"]
    assert db.scalar(select(func.count()).select_from(User)) == 1


def test_bad_verification_link(client, db, inbox):
    response = client.get("/verifier/n-importe-quoi")
    assert response.status_code == 400
    assert "Ce lien est invalide" in response.get_data(as_text=True)


def test_wrong_password_and_unknown_email_get_the_same_message(client, db):
    make_user(db, email="a@example.org")
    wrong = login(client, "a@example.org", "pas le bon mot de passe")
    unknown = login(client, "personne@example.org", "pas le bon mot de passe")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Adresse électronique ou mot de passe incorrect." in response.get_data(as_text=True)
    assert client.get("/espace").status_code == 302  # still anonymous
    missing = client.post("/connexion", data={"csrf_token": csrf_token(client), "email": "a@example.org"})
    assert missing.status_code == 400
    assert "Mot de passe : ce champ est obligatoire." in missing.get_data(as_text=True)


def test_inactive_account_cannot_log_in(client, db):
    make_user(db, email="parti@example.org", is_active=False)
    assert login(client, "parti@example.org").status_code == 401


def test_form_without_csrf_token_is_refused_and_changes_nothing(client, db, inbox):
    make_user(db, email="a@example.org")
    client.get("/connexion")
    no_token = client.post("/connexion", data={"email": "a@example.org", "password": DEFAULT_PASSWORD})
    assert no_token.status_code == 400
    assert "jeton CSRF" in no_token.get_data(as_text=True)
    assert client.get("/espace").status_code == 302
    bad_token = client.post("/inscription", data={
        "csrf_token": "faux", "email": "b@example.org", "password": PASSWORD, "password_confirm": PASSWORD,
    })
    assert bad_token.status_code == 400
    assert db.scalar(select(User).where(User.email == "b@example.org")) is None
    forgot = client.post("/mot-de-passe-oublie", data={"email": "a@example.org"})
    assert forgot.status_code == 400
    assert inbox.envelopes == []


def test_every_account_form_carries_the_csrf_token(client, db):
    for path in ("/connexion", "/inscription", "/mot-de-passe-oublie"):
        text = client.get(path).get_data(as_text=True)
        assert text.count('method="post"') == text.count('name="csrf_token"'), path


def test_session_is_rotated_at_login(client, db):
    make_user(db, email="a@example.org")
    with client.session_transaction() as session:
        session["planted"] = "valeur de l'attaquant"
    token_before = page_csrf_token(client, "/connexion")
    cookie_before = client.get_cookie("session").value
    response = login(client, "a@example.org")
    assert response.status_code == 302
    cookie_after = client.get_cookie("session").value
    assert cookie_after != cookie_before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["user_id"] is not None
        assert session["auth_nonce"]
        assert session.get("_csrf") != token_before
    # A second login gives a new nonce.
    with client.session_transaction() as session:
        first_nonce = session["auth_nonce"]
    login(client, "a@example.org")
    with client.session_transaction() as session:
        assert session["auth_nonce"] != first_nonce


def test_logout_clears_the_session(client, db):
    make_user(db, email="a@example.org")
    login(client, "a@example.org")
    assert client.get("/espace").status_code == 200
    no_token = client.post("/deconnexion")
    assert no_token.status_code == 400
    assert client.get("/espace").status_code == 200
    out = client.post("/deconnexion", data={"csrf_token": csrf_token(client)})
    assert out.status_code == 302
    with client.session_transaction() as session:
        assert "user_id" not in session
    assert client.get("/espace").status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "evil.example",
    ],
)
def test_next_cannot_leave_the_site(client, db, target):
    make_user(db, email="a@example.org")
    page = client.get("/connexion", query_string={"next": target}).get_data(as_text=True)
    assert "evil" not in page and "javascript" not in page
    response = login(client, "a@example.org", next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/espace"


def test_next_local_path_is_followed(client, db):
    make_user(db, email="a@example.org")
    page = client.get("/espace/rejoindre?q=mission")
    assert page.status_code == 302
    assert page.headers["Location"] == "/connexion?next=%2Fespace%2Frejoindre%3Fq%3Dmission"
    form = client.get(page.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/espace/rejoindre?q=mission"' in form
    response = login(client, "a@example.org", next="/espace/rejoindre?q=mission")
    assert response.headers["Location"] == "/espace/rejoindre?q=mission"


def test_password_reset(client, db, inbox):
    user = make_user(db, email="oubli@example.org")
    page = client.post(
        "/mot-de-passe-oublie",
        data={"csrf_token": page_csrf_token(client, "/mot-de-passe-oublie"), "email": "oubli@example.org"},
    )
    assert page.status_code == 200
    inbox.wait(1)
    link = inbox.link("oubli@example.org", "/reinitialiser/")
    form = client.get(link)
    assert form.status_code == 200
    short = client.post(link, data={"csrf_token": csrf_token(client), "password": "court", "password_confirm": "court"})
    assert short.status_code == 400 and "12 caractères au moins" in short.get_data(as_text=True)
    done = client.post(link, data={"csrf_token": csrf_token(client), "password": PASSWORD, "password_confirm": PASSWORD})
    assert done.status_code == 302
    assert login(client, "oubli@example.org", DEFAULT_PASSWORD).status_code == 401
    assert login(client, "oubli@example.org", PASSWORD).status_code == 302

    # The link works once.
    again = client.get(link)
    assert again.status_code == 400
    assert "déjà servi" in again.get_data(as_text=True)
    replay = client.post(link, data={"csrf_token": csrf_token(client), "password": "encore une autre phrase", "password_confirm": "encore une autre phrase"})
    assert replay.status_code == 400
    db.refresh(user)
    assert login(client, "oubli@example.org", PASSWORD).status_code == 302


def test_expired_reset_link_is_refused(client, db, inbox):
    make_user(db, email="oubli@example.org")
    client.post(
        "/mot-de-passe-oublie",
        data={"csrf_token": page_csrf_token(client, "/mot-de-passe-oublie"), "email": "oubli@example.org"},
    )
    inbox.wait(1)
    link = inbox.link("oubli@example.org", "/reinitialiser/")
    later = time.time() + 3601
    with mock.patch("itsdangerous.timed.time.time", return_value=later):
        response = client.get(link)
        refused = client.post(link, data={"csrf_token": csrf_token(client), "password": PASSWORD, "password_confirm": PASSWORD})
    assert response.status_code == 400
    assert "Ce lien a expiré" in response.get_data(as_text=True)
    assert refused.status_code == 400
    assert login(client, "oubli@example.org", PASSWORD).status_code == 401


def test_forgot_password_for_unknown_address_says_the_same(client, db, inbox):
    response = client.post(
        "/mot-de-passe-oublie",
        data={"csrf_token": page_csrf_token(client, "/mot-de-passe-oublie"), "email": "inconnu@example.org"},
    )
    assert response.status_code == 200
    assert "Si un compte existe pour" in response.get_data(as_text=True)
    assert inbox.envelopes == []
    bad = client.post("/mot-de-passe-oublie", data={"csrf_token": csrf_token(client), "email": "pas une adresse"})
    assert bad.status_code == 400 and "Adresse électronique : adresse invalide" in bad.get_data(as_text=True)


def test_smtp_down_is_said_plainly(client, db, settings, app):
    app.extensions["offre"]["settings"] = settings.replace(smtp_port=1)
    response = _register(client)
    assert response.status_code == 200
    assert "n'a pas pu partir" in response.get_data(as_text=True)


def test_password_reset_ends_the_other_sessions(app, client, db, inbox):
    make_user(db, email="a@example.org")
    login(client, "a@example.org")
    assert client.get("/espace").status_code == 200
    other = app.test_client()  # the same person, another browser
    other.post(
        "/mot-de-passe-oublie",
        data={"csrf_token": page_csrf_token(other, "/mot-de-passe-oublie"), "email": "a@example.org"},
    )
    inbox.wait(1)
    link = inbox.link("a@example.org", "/reinitialiser/")
    other.get(link)
    other.post(link, data={"csrf_token": csrf_token(other), "password": PASSWORD, "password_confirm": PASSWORD})
    assert client.get("/espace").status_code == 302  # the first session is over


def test_change_password(app, client, db):
    make_user(db, email="a@example.org")
    login(client, "a@example.org")
    second = app.test_client()
    login(second, "a@example.org")
    assert second.get("/espace").status_code == 200
    page = client.get("/espace/mot-de-passe")
    assert page.status_code == 200
    wrong = client.post("/espace/mot-de-passe", data={
        "csrf_token": csrf_token(client), "current_password": "faux", "password": PASSWORD, "password_confirm": PASSWORD,
    })
    assert wrong.status_code == 400
    assert "Mot de passe actuel : il n" in wrong.get_data(as_text=True)
    done = client.post("/espace/mot-de-passe", data={
        "csrf_token": csrf_token(client), "current_password": DEFAULT_PASSWORD,
        "password": PASSWORD, "password_confirm": PASSWORD,
    })
    assert done.status_code == 302
    assert client.get("/espace").status_code == 200  # this session goes on
    assert second.get("/espace").status_code == 302  # the other one ends
    assert login(second, "a@example.org", PASSWORD).status_code == 302


def test_forbidden_pages_are_in_french(client, db, factories):
    structure = factories.StructureFactory()
    make_user(db, email="a@example.org")
    login(client, "a@example.org")
    response = client.get(f"/espace/structures/{structure.id}/membres")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "Accès refusé" in text and "Seuls les administrateurs" in text
