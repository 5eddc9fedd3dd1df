"""SPIE prescriptions through the pages: a referent prescribes, the SPIE team of the
territory puts it on a committee's agenda in one click (pseudonymised), records the
plan, the referent follows it in « Mes prescriptions »; every read logged; nobody
else reads it; /pilotage/prescriptions and its CSV."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from catalogue import cto
from catalogue.prescription import PlanAction, Prescription, PrescriptionRead
from tests.auth_helpers import add_member, csrf_token, make_user
from tests.web.cto.conftest import log_in, make_territory

TODAY = date.today()


@pytest.fixture
def setting(db, factories):
    make_territory(db, "laonnois", "Laonnois", ["02408"])
    make_territory(db, "saint-quentinois", "Saint-Quentinois", ["02691"])
    referent = make_user(db, email="referente@example.org", nom="Ré Férente")
    add_member(db, referent, factories.StructureFactory(nom="Mission locale"))
    team = make_user(db, email="equipe-spie@example.org")
    cto.grant(db, team.id, territory_slug="laonnois")
    team_b = make_user(db, email="equipe-b@example.org")
    cto.grant(db, team_b.id, territory_slug="saint-quentinois")
    committee = cto.create_committee(db, "laonnois", TODAY + timedelta(days=20), None)
    member_a = make_user(db, email="membre-comite@example.org")
    cto.grant(db, member_a.id, committee=committee)
    db.flush()
    return {"referent": referent, "team": team, "team_b": team_b, "committee": committee, "member_a": member_a}


def _prescribe(client, **extra):
    data = {
        "csrf_token": csrf_token(client), "territoire": "laonnois", "cohorte": f"{TODAY:%Y-%m}",
        "personne_nom": "Camille Martin", "personne_contact": "camille@example.net",
        "situation": "Sans emploi, deux enfants, sans permis.", "freins": ["mobilite", "garde-enfant-famille"],
        "jours": ["lundi"], "code_commune": "02408", "referent_nom": "Ré Férente", "referent_courriel": "referente@example.org",
        "consentement": "oui", "consentement_par": "personne", "consentement_date": TODAY.isoformat(),
    }
    data.update(extra)
    return client.post("/prescriptions/nouvelle", data=data)


def test_prescription_to_committee_plan_and_follow_up(db, client, setting):
    log_in(client, setting["referent"])
    form = client.get("/prescriptions/nouvelle").get_data(as_text=True)
    assert "Ré Férente" in form and "Cohorte de" in form and "Garde d&#39;enfant" in form
    r = _prescribe(client)
    assert r.status_code == 303
    p = db.scalar(select(Prescription))
    url = r.headers["Location"]
    assert url.endswith(f"/prescriptions/{p.public_id}") and "Camille" not in url
    mine = client.get("/prescriptions").get_data(as_text=True)
    assert "Camille Martin" in mine and "Envoyée à l&#39;équipe du SPIE" in mine
    # The SPIE team of the territory sees it and puts it on the agenda in one click.
    log_in(client, setting["team"])
    team_list = client.get("/cto/prescriptions").get_data(as_text=True)
    assert "Camille Martin" in team_list
    page = client.get(url).get_data(as_text=True)
    assert "Inscrire à l'ordre du jour" in page and "Sans emploi, deux enfants" in page
    r = client.post(f"/cto/prescriptions/{p.public_id}/comite",
                    data={"csrf_token": csrf_token(client), "comite": str(setting["committee"].public_id)})
    assert r.status_code == 303
    db.refresh(p)
    assert p.status == "au_comite" and p.situation.committee_id == setting["committee"].id
    # Pseudonymised on the agenda: the reference, not the name.
    agenda = client.get(f"/cto/comites/{setting['committee'].public_id}").get_data(as_text=True)
    assert p.situation.reference in agenda and "Camille" not in agenda
    pdf = client.get(f"/cto/comites/{setting['committee'].public_id}/ordre-du-jour.pdf")
    assert pdf.status_code == 200 and b"Camille" not in pdf.data
    # Levers for this situation, from the prescription's commune, barriers and constraints only.
    r = client.post("/cto/leviers", data={"csrf_token": csrf_token(client), "commune": "Laon (02000)",
                                          "code_commune": "02408", "freins": p.barriers, "jours": p.days,
                                          "duree": "30"})
    assert r.status_code == 302 and "Trouver des leviers pour cette situation" in page
    # The plan decided in committee.
    r = client.post(f"/cto/prescriptions/{p.public_id}/plan", data={
        "csrf_token": csrf_token(client), "type": "levier", "frein": "mobilite", "description": "Auto-école sociale"})
    assert r.status_code == 303
    action = db.scalar(select(PlanAction))
    client.post(f"/cto/prescriptions/{p.public_id}/plan/{action.public_id}",
                data={"csrf_token": csrf_token(client), "statut": "realisee"})
    db.refresh(action)
    assert action.status == "realisee"
    # The referent follows the progress.
    log_in(client, setting["referent"])
    mine = client.get("/prescriptions").get_data(as_text=True)
    assert "Plan d&#39;action décidé" in mine and "1 action(s) réalisée(s) sur 1" in mine
    page = client.get(url).get_data(as_text=True)
    assert "Auto-école sociale" in page and "Réalisée" in page and "Ajouter au plan" not in page
    # Every read logged: who, what page.
    reads = db.scalars(select(PrescriptionRead).order_by(PrescriptionRead.id)).all()
    assert {(r.user_id, r.what) for r in reads} >= {
        (setting["referent"].id, "mes-prescriptions"), (setting["referent"].id, "fiche"),
        (setting["team"].id, "liste-equipe"), (setting["team"].id, "fiche")}


def test_nobody_else_reads_it(db, client, setting, factories):
    log_in(client, setting["referent"])
    url = _prescribe(client).headers["Location"]
    p = db.scalar(select(Prescription))
    colleague = make_user(db, email="collegue@example.org")
    add_member(db, colleague, factories.StructureFactory())
    for user in (setting["team_b"], setting["member_a"], colleague):
        log_in(client, user)
        assert client.get(url).status_code == 404, user.email
        assert "Camille" not in client.get("/prescriptions").get_data(as_text=True)
    # Territory B's team lists only B; a member of committee A is not the SPIE team.
    log_in(client, setting["team_b"])
    assert "Camille" not in client.get("/cto/prescriptions").get_data(as_text=True)
    r = client.post(f"/cto/prescriptions/{p.public_id}/comite",
                    data={"csrf_token": csrf_token(client), "comite": str(setting["committee"].public_id)})
    assert r.status_code == 404
    log_in(client, setting["member_a"])
    r = client.get("/cto/prescriptions")
    assert r.status_code == 403 and "équipe du SPIE" in r.get_data(as_text=True)
    # The prescriber may not act for the team.
    log_in(client, setting["referent"])
    r = client.post(f"/cto/prescriptions/{p.public_id}/plan",
                    data={"csrf_token": csrf_token(client), "type": "levier", "description": "x"})
    assert r.status_code == 403
    db.refresh(p)
    assert p.actions == []
    # An account with no role may not prescribe.
    log_in(client, make_user(db, email="inscrit@example.org"))
    assert client.get("/prescriptions/nouvelle").status_code == 403


def test_bad_input_named_in_french(db, client, setting):
    log_in(client, setting["referent"])
    r = _prescribe(client, consentement="", personne_nom="", freins=[], referent_courriel="non")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Accord de la personne : cochez la case" in html
    assert "Nom ou initiales de la personne : le nom ou les initiales" in html
    assert "Freins : cochez au moins un frein" in html
    assert "Votre courriel : adresse électronique invalide" in html
    assert db.scalar(select(Prescription)) is None
    assert _prescribe(client, csrf_token="faux").status_code == 400
    url = _prescribe(client).headers["Location"]
    p = db.scalar(select(Prescription))
    log_in(client, setting["team"])
    r = client.post(f"/cto/prescriptions/{p.public_id}/comite", data={"csrf_token": csrf_token(client), "comite": "x"})
    assert r.status_code == 400
    r = client.post(f"/cto/prescriptions/{p.public_id}/statut",
                    data={"csrf_token": csrf_token(client), "statut": "non_retenue", "motif": ""}, follow_redirects=True)
    assert "Motif : dites pourquoi" in r.get_data(as_text=True)
    assert client.get("/cto/prescriptions?statut=nimporte").status_code == 400
    assert client.get(url.replace(str(p.public_id), "00000000-0000-0000-0000-000000000000")).status_code == 404


def test_steering_by_cohort_and_csv(db, client, setting):
    log_in(client, setting["referent"])
    _prescribe(client)
    _prescribe(client, personne_nom="=HYPERLINK(\"http://x\")")
    log_in(client, setting["team"])
    page = client.get("/pilotage/prescriptions").get_data(as_text=True)
    assert "Laonnois" in page and "Camille" not in page and "HYPERLINK" not in page
    r = client.get("/pilotage/prescriptions.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    assert "Laonnois;Cohorte de" in text and ";2;2;" in text and "Camille" not in text
    log_in(client, make_user(db, email="inscrit@example.org"))
    assert client.get("/pilotage/prescriptions.csv").status_code == 403
