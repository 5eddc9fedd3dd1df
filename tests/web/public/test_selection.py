"""A selection for the person (issue 19, point 1): add and remove offers from the
results and service pages, the /selection page with the hours in words, print, PDF,
e-mail through the local SMTP server, short links that open without an account and
expire, and bad input refused with the field named in French."""

from __future__ import annotations

import io
import logging
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from catalogue.models import Status
from catalogue.selection import SelectionLink
from tests.auth_helpers import csrf_token
from tests.static_names import static_url
from web.app import create_app

HOURS = "Mo-Fr 09:00-12:00,14:00-17:00; PH off"
HOURS_WORDS = "du lundi au vendredi de 9 h à 12 h et de 14 h à 17 h"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def make_app(settings, connection, **changes):
    app = create_app(settings.replace(**changes))
    app.config["TESTING"] = True
    app.extensions["offre"]["sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app


@pytest.fixture
def offers(factories):
    """Three public offers with hours, an address and contacts."""
    out = []
    for i, name in enumerate(("Permis à 1 euro", "Atelier CV", "Garde d'enfants solidaire")):
        structure = factories.StructureFactory(nom=f"Association {i}", telephone=f"03 23 00 00 0{i}")
        out.append(factories.ServiceFactory(
            structure=structure, nom=name, horaires_accueil=HOURS, adresse=f"{i + 1} rue de la Paix",
            code_postal="02000", telephone=f"03 23 11 22 3{i}", courriel=f"contact{i}@example.org",
            modes_mobilisation=["telephoner", "se-presenter"], mobilisable_par=["usagers", "professionnels"],
        ))
    return out


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client), **data})


def test_add_without_javascript_returns_to_the_page_and_remove(client, offers):
    first = offers[0]
    r = post(client, "/selection/ajouter", offre=str(first.id), retour=f"/recherche?q=permis#offre-{first.id}")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/recherche?q=permis#offre-{first.id}")
    page = text_of(client.get("/selection"))
    assert "Permis à 1 euro" in page and "Offre ajoutée à votre sélection (1 offre)" in page
    # Twice is once.
    post(client, "/selection/ajouter", offre=str(first.id))
    assert text_of(client.get("/selection")).count('id="offre-') == 1
    r = post(client, "/selection/retirer", offre=str(first.id), retour="/selection")
    assert r.status_code == 303
    page = text_of(client.get("/selection"))
    assert "Votre sélection est vide" in page and "Permis à 1 euro" not in page


def test_retour_never_leads_to_another_site(client, offers):
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        r = post(client, "/selection/ajouter", offre=str(offers[0].id), retour=bad)
        assert r.status_code == 303 and r.headers["Location"].endswith("/selection"), bad


def test_add_by_javascript_answers_json(client, offers):
    r = client.post("/selection/ajouter", data={"csrf_token": csrf_token(client), "offre": str(offers[1].id)},
                    headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.get_json() == {"message": "Offre ajoutée à votre sélection (1 offre).", "nombre": 1, "dans_selection": True}
    r = client.post("/selection/retirer", data={"csrf_token": csrf_token(client), "offre": str(offers[1].id)},
                    headers={"Accept": "application/json"})
    assert r.get_json()["nombre"] == 0 and r.get_json()["dans_selection"] is False


def test_buttons_on_results_and_service_pages(client, offers):
    service = offers[0]
    page = text_of(client.get(f"/services/{service.id}"))
    assert 'action="/selection/ajouter"' in page and "Ajouter à ma sélection" in page
    assert f'name="offre" value="{service.id}"' in page
    results = text_of(client.get("/recherche?q=permis"))
    assert "Ajouter à ma sélection" in results and f'src="{static_url("js/selection.js")}"' in results
    post(client, "/selection/ajouter", offre=str(service.id))
    page = text_of(client.get(f"/services/{service.id}"))
    assert 'action="/selection/retirer"' in page and "Retirer de ma sélection" in page
    assert "Ma sélection<span class=\"selection-count\"> (1)</span>" in page


def test_page_shows_address_hours_in_words_access_and_contacts(client, offers):
    for s in offers:
        post(client, "/selection/ajouter", offre=str(s.id))
    page = text_of(client.get("/selection"))
    assert page.count(HOURS_WORDS.capitalize()) == 3
    assert "fermé les jours fériés" in page
    assert "1 rue de la Paix, 02000 Laon" in page
    assert "Sur place" in page  # modes d'accueil
    assert "Par téléphone, en vous présentant sur place" in page  # modes de mobilisation
    assert "vous-même ou un professionnel" in page
    assert 'href="tel:0323112230"' in page and "contact0@example.org" in page
    # In the order chosen.
    assert page.index("Permis à 1 euro") < page.index("Atelier CV") < page.index("Garde d&#39;enfants")


def test_reorder(client, offers):
    for s in offers:
        post(client, "/selection/ajouter", offre=str(s.id))
    assert post(client, "/selection/deplacer", offre=str(offers[0].id), sens="bas").status_code == 303
    page = text_of(client.get("/selection"))
    assert page.index("Atelier CV") < page.index("Permis à 1 euro") < page.index("Garde d&#39;enfants")
    post(client, "/selection/deplacer", offre=str(offers[2].id), sens="haut")
    page = text_of(client.get("/selection"))
    assert page.index("Atelier CV") < page.index("Garde d&#39;enfants") < page.index("Permis à 1 euro")


def test_an_offer_unpublished_since_is_no_longer_available(client, db, offers):
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    post(client, "/selection/ajouter", offre=str(offers[1].id))
    offers[0].status = Status.ARCHIVE
    db.flush()
    page = text_of(client.get("/selection"))
    assert "n'est plus disponible" in page and "Permis à 1 euro" not in page and "Atelier CV" in page
    # It can still be removed.
    post(client, "/selection/retirer", offre=str(offers[0].id))
    assert "n'est plus disponible" not in text_of(client.get("/selection"))


def test_print_stylesheet(client, offers):
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    page = text_of(client.get("/selection"))
    assert f'<link rel="stylesheet" href="{static_url("css/selection-print.css")}" media="print">' in page
    assert 'class="js-print" hidden' in page and f'src="{static_url("js/print.js")}"' in page
    css = text_of(client.get("/static/css/selection-print.css"))
    assert "@page { size: A4" in css
    assert ".selection-forms" in css and "display: none" in css and "break-inside: avoid" in css


def test_pdf_has_the_hours_and_fits_one_page_for_three_offers(client, offers):
    for s in offers:
        post(client, "/selection/ajouter", offre=str(s.id))
    r = client.get("/selection.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert 'filename="selection-' in r.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(r.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)  # A4
    words = " ".join(reader.pages[0].extract_text().split())
    for name in ("Permis à 1 euro", "Atelier CV", "Garde d'enfants solidaire"):
        assert name in words
    assert words.count(HOURS_WORDS.capitalize()) == 3
    assert "03 23 11 22 30" in words


def test_pdf_of_an_empty_selection_is_refused_in_french(client):
    r = client.get("/selection.pdf")
    assert r.status_code == 400 and "la sélection est vide" in text_of(r)


def test_sent_by_email_address_neither_stored_nor_logged(app, client, db, offers, smtp, caplog):
    controller, inbox = smtp
    settings = app.extensions["offre"]["settings"]
    app.extensions["offre"]["settings"] = settings.replace(smtp_host="127.0.0.1", smtp_port=controller.port)
    for s in offers[:2]:
        post(client, "/selection/ajouter", offre=str(s.id))
    caplog.set_level(logging.DEBUG)
    r = post(client, "/selection/envoyer", courriel="personne.aidee@example.net")
    assert r.status_code == 303
    assert "a été envoyée par courriel" in text_of(client.get("/selection"))
    [mail] = inbox.messages
    assert mail.rcpt_tos == ["personne.aidee@example.net"]
    import email
    from email import policy

    body = email.message_from_bytes(mail.content, policy=policy.default).get_content()
    assert "Permis à 1 euro" in body and "Atelier CV" in body
    assert "Horaires : " + HOURS_WORDS in body and "Téléphone : 03 23 11 22 30" in body
    # The application's records (not the test SMTP server's own), with their extra fields.
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert ours and not any("personne.aidee" in repr(r.__dict__) for r in ours)
    with client.session_transaction() as s:
        assert "personne.aidee" not in repr(dict(s))
    assert db.scalar(select(SelectionLink.id)) is None


def test_email_form_names_the_field(client, offers):
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    r = post(client, "/selection/envoyer", courriel="pas-une-adresse")
    assert r.status_code == 400 and "Courriel : adresse invalide" in text_of(r)
    r = post(client, "/selection/envoyer", courriel="")
    assert r.status_code == 400 and "Courriel : indiquez l&#39;adresse" in text_of(r)


def test_email_of_an_empty_selection_is_refused(client):
    r = post(client, "/selection/envoyer", courriel="a@example.org")
    assert r.status_code == 400 and "Sélection : elle est vide" in text_of(r)


def test_email_is_rate_limited(settings, connection, offers, smtp):
    controller, _ = smtp
    app = make_app(settings, connection, selection_mail_rate_limit="1/hour", smtp_host="127.0.0.1",
                   smtp_port=controller.port)
    client = app.test_client()
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    assert post(client, "/selection/envoyer", courriel="a@example.org").status_code == 303
    r = post(client, "/selection/envoyer", courriel="a@example.org")
    assert r.status_code == 429 and "Trop de demandes" in text_of(r)


def _share(client) -> tuple[str, str]:
    r = post(client, "/selection/partager")
    assert r.status_code == 303 and r.headers["Location"].endswith("/selection#liens")
    page = text_of(client.get("/selection"))
    url = re.search(r'href="(http://[^"]+/s/([A-Za-z0-9_-]{16}))"', page)
    assert url, "le lien de partage n'est pas montré"
    return url.group(1), url.group(2)


def test_share_link_opens_without_account_and_holds_no_personal_data(app, client, db, offers):
    for s in offers[:2]:
        post(client, "/selection/ajouter", offre=str(s.id))
    url, token = _share(client)
    assert "valable jusqu'au" in text_of(client.get("/selection"))
    stranger = app.test_client()
    page = text_of(stranger.get(f"/s/{token}"))
    assert "Permis à 1 euro" in page and "Atelier CV" in page and HOURS_WORDS.capitalize() in page
    assert "Créer un lien de partage" not in page and "Retirer" not in page  # read only
    pdf = stranger.get(f"/s/{token}/pdf")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    # The row: a token, the offers, an owner hash, two dates; nothing else.
    row = db.execute(text("SELECT to_jsonb(l) FROM selection_link l WHERE token = :t"), {"t": token}).scalar_one()
    assert set(row) == {"id", "token", "service_ids", "owner_hash", "created_at", "expires_at"}
    assert row["service_ids"] == [str(offers[0].id), str(offers[1].id)]
    assert re.fullmatch(r"[0-9a-f]{64}", row["owner_hash"])
    days = (datetime.fromisoformat(row["expires_at"]) - datetime.fromisoformat(row["created_at"])).days
    assert days == 30  # SELECTION_LINK_DAYS


def test_share_link_expires(app, client, db, offers):
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    _, token = _share(client)
    db.execute(text("UPDATE selection_link SET created_at = now() - interval '40 days', "
                    "expires_at = now() - interval '10 days' WHERE token = :t"), {"t": token})
    r = app.test_client().get(f"/s/{token}")
    assert r.status_code == 410 and "Ce lien de sélection a expiré" in text_of(r)
    assert app.test_client().get(f"/s/{token}/pdf").status_code == 410
    # A new link made later deletes the expired ones.
    _share(client)
    assert db.scalar(select(SelectionLink.id).where(SelectionLink.token == token)) is None


def test_only_its_creator_deletes_a_link(app, client, db, offers):
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    _, token = _share(client)
    stranger = app.test_client()
    assert "Vous avez créé ce lien" in text_of(client.get(f"/s/{token}"))
    assert "Vous avez créé ce lien" not in text_of(stranger.get(f"/s/{token}"))
    r = post(stranger, f"/s/{token}/supprimer")
    assert r.status_code == 403 and "Seule la personne qui a créé ce lien" in text_of(r)
    assert stranger.get(f"/s/{token}").status_code == 200
    assert post(client, f"/s/{token}/supprimer").status_code == 303
    assert stranger.get(f"/s/{token}").status_code == 404
    assert db.scalar(select(SelectionLink.id)) is None


def test_share_is_rate_limited(settings, connection, offers):
    app = make_app(settings, connection, selection_share_rate_limit="1/hour")
    client = app.test_client()
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    assert post(client, "/selection/partager").status_code == 303
    assert post(client, "/selection/partager").status_code == 429


# ------------------------------------------------------------------ bad input

def test_unknown_or_malformed_offer_is_refused_naming_the_field(client, db, factories):
    r = post(client, "/selection/ajouter", offre=str(uuid.uuid4()))
    assert r.status_code == 400 and "offre :" in text_of(r) and "n&#39;est pas une offre publiée" in text_of(r)
    r = post(client, "/selection/ajouter", offre="pas-un-identifiant")
    assert r.status_code == 400 and "offre : « pas-un-identifiant » n&#39;est pas un identifiant d&#39;offre" in text_of(r)
    r = post(client, "/selection/ajouter")
    assert r.status_code == 400 and "offre : aucune offre indiquée" in text_of(r)
    draft = factories.ServiceFactory(status=Status.BROUILLON)
    assert post(client, "/selection/ajouter", offre=str(draft.id)).status_code == 400
    r = client.post("/selection/ajouter", data={"csrf_token": csrf_token(client), "offre": "x"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 400 and r.get_json()["detail"].startswith("offre :")


def test_too_many_offers_is_refused_with_the_limit(settings, connection, offers):
    client = make_app(settings, connection, selection_max_offers=2).test_client()
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    post(client, "/selection/ajouter", offre=str(offers[1].id))
    r = post(client, "/selection/ajouter", offre=str(offers[2].id))
    assert r.status_code == 400
    assert "offre : une sélection compte 2 offres au plus" in text_of(r)


def test_bad_move_direction(client, offers):
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    r = post(client, "/selection/deplacer", offre=str(offers[0].id), sens="gauche")
    assert r.status_code == 400 and "sens : « gauche »" in text_of(r)
    r = post(client, "/selection/deplacer", offre=str(offers[1].id), sens="bas")
    assert r.status_code == 400 and "n&#39;est pas dans la sélection" in text_of(r)


def test_forged_or_unknown_token(client):
    for forged in ("abc", "x" * 17, "abc$defghijklmno"):
        r = client.get(f"/s/{forged}")
        assert r.status_code == 400 and "lien : ce lien de sélection est mal formé" in text_of(r), forged
    r = client.get("/s/" + "A" * 16)
    assert r.status_code == 404 and "Ce lien de sélection n&#39;existe pas" in text_of(r)
    assert post(client, "/s/abc/supprimer").status_code == 400


def test_sharing_an_empty_selection_is_refused(client):
    r = post(client, "/selection/partager")
    assert r.status_code == 400 and "selection : la sélection est vide" in text_of(r)


def test_forms_need_the_csrf_token(client, offers):
    r = client.post("/selection/ajouter", data={"offre": str(offers[0].id)})
    assert r.status_code == 400 and "jeton CSRF" in text_of(r)


def test_a_tampered_cookie_list_is_read_safely(client, offers):
    with client.session_transaction() as s:
        s["selection"] = ["pas-un-uuid", str(offers[0].id), 42, str(offers[0].id)]
    page = text_of(client.get("/selection"))
    assert page.count('id="offre-') == 1 and "Permis à 1 euro" in page
    with client.session_transaction() as s:
        s["selection"] = {"nimporte": "quoi"}
    assert client.get("/selection").status_code == 200


def test_link_expiry_is_a_setting(settings, connection, db, offers):
    client = make_app(settings, connection, selection_link_days=2).test_client()
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    post(client, "/selection/partager")
    link = db.scalar(select(SelectionLink))
    assert timedelta(days=2) - timedelta(minutes=1) < link.expires_at - datetime.now(UTC) <= timedelta(days=2)


def test_the_selection_survives_logging_in(client, db, offers):
    from tests.auth_helpers import DEFAULT_PASSWORD, make_user

    make_user(db, "referente@example.org")
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    client.get("/connexion")
    r = post(client, "/connexion", email="referente@example.org", password=DEFAULT_PASSWORD)
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:500]
    with client.session_transaction() as session:
        assert session.get("user_id")  # logged in: a fresh session…
    assert "Permis à 1 euro" in text_of(client.get("/selection"))  # …that kept the selection


def test_mail_and_pdf_are_in_the_language_of_the_page_that_asked(app, client, offers, smtp):
    """Issue 20: the e-mail and the PDF speak the page's language; what partners
    wrote (names, addresses) stays in French."""
    import email
    from email import policy

    controller, inbox = smtp
    settings = app.extensions["offre"]["settings"]
    app.extensions["offre"]["settings"] = settings.replace(smtp_host="127.0.0.1", smtp_port=controller.port)
    post(client, "/selection/ajouter", offre=str(offers[0].id))
    page = text_of(client.get("/selection?lang=es"))
    assert 'action="/selection/envoyer?lang=es"' in page and 'href="/selection.pdf?lang=es"' in page
    r = post(client, "/selection/envoyer?lang=es", courriel="persona@example.net")
    assert r.status_code == 303 and "lang=es" in r.headers["Location"]
    assert "se ha enviado por correo electrónico" in text_of(client.get(r.headers["Location"]))
    [mail] = inbox.messages
    message = email.message_from_bytes(mail.content, policy=policy.default)
    assert message["Subject"].startswith("Su selección de servicios — ")
    body = message.get_content()
    assert body.startswith("Hola:") and "Permis à 1 euro" in body and "Horario: " in body
    assert "Horaires" not in body and "Bonjour" not in body
    words = " ".join(PdfReader(io.BytesIO(client.get("/selection.pdf?lang=es").data)).pages[0].extract_text().split())
    assert "Selección de servicios" in words and "Permis à 1 euro" in words and "Horaires" not in words
