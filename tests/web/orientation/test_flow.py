"""The orientation workflow through the web: the referent orients a person from an
offer's page, the structure's members get an e-mail (the local SMTP server) and
find it in their inbox, they refuse with a reason, ask for information, accept;
the referent is told by e-mail and sees each status in « Mes orientations »."""

from __future__ import annotations

import logging

from sqlalchemy import select

from catalogue.orientation import Orientation, State
from tests.web.orientation.conftest import NEED, as_user, mails, orient_form, post


def text_of(r) -> str:
    return r.get_data(as_text=True)


def test_the_service_page_offers_to_orient_to_professionals_only(client, world):
    url = f"/services/{world['a_pub'].id}"
    assert "Orienter une personne" not in text_of(client.get(url))
    as_user(client, world["users"]["verifie"])
    page = text_of(client.get(url))
    assert f"/services/{world['a_pub'].id}/orienter" in page
    form = text_of(client.get(f"/services/{world['a_pub'].id}/orienter"))
    assert 'name="consentement"' in form and NEED in form and "Structure A" in form


def test_orient_refuse_and_see_it(client, db, world, smtp, sent):
    referent, member = sent["referent"], world["users"]["membre_a"]
    messages = mails(smtp, 3)
    to_structure = [m for m in messages if "membre-a@example.org" in m["To"]]
    assert to_structure and "Nouvelle orientation" in to_structure[0]["Subject"]
    assert sent["public_id"] in to_structure[0].get_content()
    for m in messages:  # no personal datum in any e-mail
        assert "Marie" not in m.get_content() and "06 12" not in m.get_content()
    assert any(referent.email in m["To"] for m in messages)
    # The structure's inbox.
    as_user(client, member)
    inbox = text_of(client.get("/orientations/recues"))
    assert "Marie Curie" in inbox and "1 orientation attend" in inbox
    page = text_of(client.get(sent["url"]))
    assert "06 12 34 56 78" in page and "Refuser l'orientation" in page
    before = len(smtp.messages)
    r = post(client, sent["url"] + "/decision", {"decision": "refuser", "motif": "complet",
                                                "precisions": "Reprise des entrées en janvier."})
    assert r.status_code == 302
    told = mails(smtp, before + 1)[-1]
    assert told["To"] == referent.email and "refusée" in told["Subject"]
    assert "Plus de place disponible" in told.get_content()
    # The referent sees it.
    as_user(client, referent)
    mine = text_of(client.get("/orientations"))
    assert "Refusée" in mine and "Plus de place disponible" in mine and "Structure A" in mine
    detail = text_of(client.get(sent["url"]))
    assert "Reprise des entrées en janvier." in detail and "Refuser l'orientation" not in detail


def test_ask_information_then_answer_then_accept(client, db, world, smtp, sent):
    referent, member = sent["referent"], world["users"]["membre_a"]
    as_user(client, member)
    n = len(mails(smtp, 3))
    assert post(client, sent["url"] + "/decision", {"decision": "demander",
                                                    "question": "Est-elle disponible le matin ?"}).status_code == 302
    assert "Informations demandées" in mails(smtp, n + 1)[-1]["Subject"]
    as_user(client, referent)
    page = text_of(client.get(sent["url"]))
    assert "Est-elle disponible le matin ?" in page and 'name="reponse"' in page
    assert post(client, sent["url"] + "/reponse", {"reponse": "Oui, tous les matins."}).status_code == 302
    answered = mails(smtp, n + 3)
    assert any("Réponse du référent" in m["Subject"] and "membre-a@example.org" in m["To"] for m in answered)
    as_user(client, member)
    assert post(client, sent["url"] + "/decision", {"decision": "accepter", "message": "RDV lundi"}).status_code == 302
    found = db.scalar(select(Orientation).where(Orientation.public_id == sent["public_id"]))
    db.refresh(found)
    assert found.status == State.ACCEPTEE
    assert [e.kind for e in found.events] == ["envoyee", "informations_demandees", "reponse", "acceptee"]
    assert "acceptée" in mails(smtp, n + 4)[-1]["Subject"]


def test_bad_input_is_a_400_naming_the_field(client, world, smtp):
    as_user(client, world["users"]["verifie"])
    url = f"/services/{world['a_pub'].id}/orienter"
    r = post(client, url, orient_form(nom="", consentement=""))
    assert r.status_code == 400
    page = text_of(r)
    assert "Nom ou initiales : obligatoire" in page and "Accord de la personne" in page
    r = post(client, url, orient_form(besoins="famille--garde-denfants"))
    assert r.status_code == 400 and "Besoins : besoin inconnu" in text_of(r)
    from io import BytesIO
    r = post(client, url, {**orient_form(), "piece": (BytesIO(b"%PDF"), "cv.pdf")},
             content_type="multipart/form-data")
    assert r.status_code == 400 and "Pièces jointes : refusées" in text_of(r)
    assert not smtp.messages


def test_decisions_refuse_bad_input(client, world, sent):
    as_user(client, world["users"]["membre_a"])
    r = post(client, sent["url"] + "/decision", {"decision": "supprimer"})
    assert r.status_code == 400 and "decision" in text_of(r)
    r = post(client, sent["url"] + "/decision", {"decision": "refuser", "motif": "autre"})
    assert r.status_code == 400 and "Précisions : obligatoire" in text_of(r)
    r = post(client, sent["url"] + "/decision", {"decision": "refuser", "motif": ""})
    assert r.status_code == 400 and "Motif du refus" in text_of(r)
    assert post(client, sent["url"] + "/decision", {"decision": "accepter"}).status_code == 302
    r = post(client, sent["url"] + "/decision", {"decision": "accepter"})
    assert r.status_code == 400 and "Statut : impossible" in text_of(r)


def test_no_personal_data_in_urls_or_logs(client, db, world, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    as_user(client, world["users"]["verifie"])
    r = post(client, f"/services/{world['a_pub'].id}/orienter", orient_form(nom="Zébulon Secret"))
    assert "Zébulon" not in r.headers["Location"] and "Secret" not in r.headers["Location"]
    client.get(r.headers["Location"])
    client.get("/orientations")
    assert "Zébulon" not in caplog.text and "06 12" not in caplog.text
    from sqlalchemy import text

    logged = db.execute(text("SELECT count(*) FROM search_log WHERE CAST(to_jsonb(search_log) AS text) "
                             "ILIKE '%zébulon%'")).scalar()
    assert logged == 0


def test_a_referent_cannot_flood_a_structure(client, db, world, smtp, monkeypatch):
    from catalogue import orientation

    monkeypatch.setattr(orientation, "MAX_PER_HOUR", 2)
    as_user(client, world["users"]["verifie"])
    url = f"/services/{world['a_pub'].id}/orienter"
    statuses = [post(client, url, orient_form(nom=f"P{i}")).status_code for i in range(3)]
    assert statuses == [302, 302, 429]
