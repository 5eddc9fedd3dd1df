"""CTO sessions: a territory, a date, the agenda fixed at D-3 and sent at D-2, at
most 10 situations, each with an internal reference (never a name)."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from catalogue import cto
from catalogue.cto import Committee, Shortlist
from catalogue.errors import ValidationError
from tests.web.cto.conftest import make_territory

IN_A_MONTH = date.today() + timedelta(days=30)


@pytest.fixture
def committee(db, client, pro, token):
    make_territory(db, "laonnois", "Laonnois", ["02408"])
    r = client.post("/cto/comites", data={"csrf_token": token(), "territoire": "laonnois", "date": IN_A_MONTH.isoformat()})
    assert r.status_code == 303
    return db.scalars(select(Committee).order_by(Committee.id.desc())).first()


def test_dates_d3_d2(committee):
    assert committee.agenda_deadline == IN_A_MONTH - timedelta(days=3)
    assert committee.sending_date == IN_A_MONTH - timedelta(days=2)
    assert committee.territory_slug == "laonnois"


def test_the_eleventh_situation_is_refused(db, client, committee, token):
    url = f"/cto/comites/{committee.public_id}/situations"
    for n in range(1, 11):
        r = client.post(url, data={"csrf_token": token(), "reference": f"CTO-2026-{n:03d}"})
        assert r.status_code == 303, r.get_data(as_text=True)
    r = client.post(url, data={"csrf_token": token(), "reference": "CTO-2026-011"})
    assert r.status_code == 400
    assert "Un comité examine au plus 10 situations : celle-ci ne peut pas être ajoutée." in r.get_data(as_text=True)
    db.expire_all()
    refs = [s.reference for s in db.get(Committee, committee.id).situations]
    assert len(refs) == 10 and "CTO-2026-011" not in refs
    page = client.get(f"/cto/comites/{committee.public_id}").get_data(as_text=True)
    assert "10 sur 10 au plus" in page and "il n'en examine pas davantage" in page


def test_the_rule_itself_refuses_the_eleventh(db, committee):
    for n in range(10):
        cto.add_situation(db, committee, f"S-{n}", None, None)
    with pytest.raises(ValidationError) as exc:
        cto.add_situation(db, committee, "S-10", None, None)
    assert exc.value.errors == {"situation": [cto.TOO_MANY_SITUATIONS]}


def test_reference_never_a_name(db, client, committee, token):
    url = f"/cto/comites/{committee.public_id}/situations"
    r = client.post(url, data={"csrf_token": token(), "reference": "Marie Dupont"})
    assert r.status_code == 400 and "jamais le nom de la personne" in r.get_data(as_text=True)
    assert client.post(url, data={"csrf_token": token(), "reference": ""}).status_code == 400
    assert client.post(url, data={"csrf_token": token(), "reference": "DOS-42"}).status_code == 303
    r = client.post(url, data={"csrf_token": token(), "reference": "DOS-42"})
    assert r.status_code == 400 and "déjà à l'ordre du jour" in html.unescape(r.get_data(as_text=True))


def test_after_the_agenda_deadline(db, client, committee, token):
    committee.date = date.today() + timedelta(days=2)
    committee.agenda_deadline = committee.date - timedelta(days=3)
    db.flush()
    r = client.post(f"/cto/comites/{committee.public_id}/situations", data={"csrf_token": token(), "reference": "DOS-1"})
    assert r.status_code == 400 and "ordre du jour est arrêté" in r.get_data(as_text=True)


def test_bad_committee_input(db, client, pro, token):
    make_territory(db, "laonnois", "Laonnois", ["02408"])
    r = client.post("/cto/comites", data={"csrf_token": token(), "territoire": "inconnu", "date": IN_A_MONTH.isoformat()})
    assert r.status_code == 400 and "Territoire : choisissez un territoire" in r.get_data(as_text=True)
    r = client.post("/cto/comites", data={"csrf_token": token(), "territoire": "laonnois", "date": "demain"})
    assert r.status_code == 400 and "Date : date invalide" in r.get_data(as_text=True)
    r = client.post("/cto/comites", data={"csrf_token": token(), "territoire": "laonnois", "date": "2020-01-01"})
    assert r.status_code == 400 and "est passée" in r.get_data(as_text=True)


def test_agenda_pdf_with_shortlists(db, client, factories, committee, token):
    factories.ServiceFactory(nom="Garage solidaire")
    db.flush()
    client.post("/cto/leviers", data={"csrf_token": token(), "commune": "Laon", "code_commune": "02408",
                                      "freins": ["mobilite", "sante"]})
    shortlist = db.scalars(select(Shortlist).order_by(Shortlist.id.desc())).first()
    share_link = f"http://127.0.0.1:5000/cto/listes/{shortlist.token}"
    r = client.post(f"/cto/comites/{committee.public_id}/situations",
                    data={"csrf_token": token(), "reference": "CTO-2026-014", "liste": share_link})
    assert r.status_code == 303
    page = client.get(f"/cto/comites/{committee.public_id}").get_data(as_text=True)
    assert "CTO-2026-014" in page and f"/cto/listes/{shortlist.token}" in page
    pdf = client.get(f"/cto/comites/{committee.public_id}/ordre-du-jour.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data[:4] == b"%PDF"
    # the PDF is made from this HTML: each situation with its levers and its unanswered barriers
    from web.cto import views

    with client.application.test_request_context():
        from flask import render_template

        view = views.shortlist_view(db, shortlist, date.today())
        agenda = render_template("cto/pdf_agenda.html", committee=committee, territory="Laonnois",
                                 situations=[{"situation": committee.situations[0], "view": view}], generated="")
    assert "CTO-2026-014" in agenda and "Garage solidaire" in agenda and "Sans réponse sur le territoire" in agenda
    assert "Santé" in agenda
    r = client.post(f"/cto/comites/{committee.public_id}/situations",
                    data={"csrf_token": token(), "reference": "CTO-2026-015", "liste": "jeton-inconnu"})
    assert r.status_code == 400 and "lien inconnu, non partagé ou liste expirée" in r.get_data(as_text=True)


def test_put_a_shortlist_on_the_agenda_from_its_page(db, client, factories, committee, token):
    factories.ServiceFactory()
    db.flush()
    url = client.post("/cto/leviers", data={"csrf_token": token(), "commune": "Laon", "code_commune": "02408",
                                            "freins": ["mobilite"]}).headers["Location"]
    assert f'value="{committee.public_id}"' in client.get(url).get_data(as_text=True)
    r = client.post(url + "/comite", data={"csrf_token": token(), "comite": str(committee.public_id), "reference": "Jean Martin"})
    assert r.status_code == 303
    assert "jamais le nom de la personne" in html.unescape(client.get(url).get_data(as_text=True))
    r = client.post(url + "/comite", data={"csrf_token": token(), "comite": "99999999999", "reference": "DOS-7"})
    assert r.status_code == 303 and "choisissez un de vos comités" in client.get(url).get_data(as_text=True)
    r = client.post(url + "/comite", data={"csrf_token": token(), "comite": str(committee.public_id), "reference": "DOS-7"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/cto/comites/{committee.public_id}")
    db.expire_all()
    situation = db.get(Committee, committee.id).situations[0]
    assert situation.reference == "DOS-7" and situation.shortlist.token in url
