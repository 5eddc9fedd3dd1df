"""The steering dashboard and the unmet demand, for moderators and the SPIE team."""

from __future__ import annotations

from datetime import date, timedelta

from catalogue import cto, steering
from catalogue.cto import CtoMembership, SearchLog
from catalogue.models import Status
from tests.auth_helpers import make_user
from tests.web.cto.conftest import log_in, make_territory


def _log(db, thematiques, commune, count, week=None):
    db.add(SearchLog(week=week or cto.week_of(date.today()), thematiques=thematiques, code_commune=commune,
                     filters={"origine": "site"}, result_count=count))


def test_dashboard_figures(db, client, factories, moderator):
    make_territory(db, "laonnois", "Laonnois", ["02408"])
    factories.ServiceFactory(date_maj=date.today() - timedelta(days=10))  # fresh, mobility, Laon
    factories.ServiceFactory(date_maj=date.today() - timedelta(days=400), source="caf",
                             thematiques=["logement-hebergement--louer-un-logement", "mobilite--preparer-un-permis"])
    factories.ServiceFactory(status=Status.ARCHIVE)
    original = factories.ServiceFactory(code_insee="02691")
    factories.ServiceFactory(duplicate_of_id=original.id, duplicate_hidden=True)
    db.flush()
    groups = {g["code"]: g for g in steering.by_group(db, date.today())}
    assert groups["mobilite"]["offers"] == 3 and groups["mobilite"]["fresh"] == 2
    assert groups["logement"]["offers"] == 1 and groups["logement"]["fresh_pct"] == 0.0
    assert groups["sante"]["offers"] == 0 and groups["sante"]["fresh_pct"] is None
    territories = {t["slug"]: t for t in steering.by_territory(db, "02")}
    assert territories["laonnois"]["by_group"]["mobilite"] == 2
    assert territories["#dep"]["by_group"]["mobilite"] == 3
    sources = {s["source"]: s for s in steering.by_source(db, date.today())}
    assert sources["test"]["offers"] == 2 and sources["test"]["duplicates"] == 1 and sources["caf"]["fresh"] == 0
    assert steering.duplicates(db)["flagged"] == 1
    _log(db, ["mobilite"], "02408", 0)
    _log(db, ["mobilite--preparer-un-permis"], "02408", 0)
    _log(db, ["logement"], "02691", 2)
    _log(db, ["logement"], "02691", 25)
    db.flush()
    html = client.get("/pilotage").get_data(as_text=True)
    assert html.count("<svg") == 3 and 'role="img"' in html and "<title" in html
    assert "Mobilité : 3" in html  # the chart's description says the figures
    top = html.split('id="t-unmet"', 1)[1]
    assert top.index("Mobilité") < top.index("Logement")  # two zero-result searches first
    for name, expected in (("thematiques", "Mobilité;3;2;66,7"), ("territoires", "Laonnois;"),
                           ("sources", "caf;1;0;0,0;0"), ("besoins", "Mobilité;02408;Laon;2;2;0")):
        csv = client.get(f"/pilotage/export/{name}.csv").get_data(as_text=True)
        assert expected in csv, (name, csv)
    assert client.get("/pilotage/export/autre.csv").status_code == 404


def test_unmet_demand_by_week(db, client, moderator):
    last_week = cto.week_of(date.today()) - timedelta(days=7)
    _log(db, ["mobilite"], "02408", 0)
    _log(db, ["mobilite"], "02408", 0, week=last_week)
    _log(db, ["mobilite"], "02408", 40)  # enough results: not unmet
    _log(db, [], None, 1)
    _log(db, ["sante"], "02408", 0, week=cto.week_of(date.today()) - timedelta(days=7 * 30))  # outside 12 weeks
    db.flush()
    rows = cto.unmet_demand(db, date.today() - timedelta(weeks=12))
    assert [(r["week"], r["groupe"], r["searches"], r["zero"], r["low"]) for r in rows] == [
        (cto.week_of(date.today()), "mobilite", 2, 1, 0),
        (cto.week_of(date.today()), None, 1, 0, 1),
        (last_week, "mobilite", 1, 1, 0),
    ]
    assert [(w["week"], w["searches"], w["zero"], w["low"]) for w in cto.weekly_totals(db, date.today() - timedelta(weeks=12))] == [
        (last_week, 1, 1, 0), (cto.week_of(date.today()), 3, 1, 1)]
    html = client.get("/pilotage/demande").get_data(as_text=True)
    assert "Sans thématique" in html and "Laon (02408)" in html and "Santé" not in html.split("<h2", 1)[1]
    assert "<svg" in html and f"Semaine du {last_week:%d/%m/%Y} : 1" in html
    csv = client.get("/pilotage/demande.csv?semaines=52").get_data(as_text=True)
    assert "Santé" in csv
    assert client.get("/pilotage/demande?semaines=0").status_code == 400


def test_the_spie_team_and_cto_members_only(db, client):
    assert client.get("/pilotage").status_code == 302
    referent = make_user(db, email="referent@example.org")
    log_in(client, referent)
    for url in ("/pilotage", "/pilotage/demande", "/cto"):
        r = client.get(url, headers={"Accept": "application/json"})
        assert r.status_code == 403 and r.mimetype == "text/html", url
        assert "spie@example.org" in r.get_data(as_text=True)  # who to ask (CONTACT_EMAIL)
    db.add(CtoMembership(user_id=referent.id, territory_slug="laonnois"))
    db.flush()
    assert client.get("/pilotage").status_code == 200
    assert client.get("/cto").status_code == 200
