"""Levers that tell the truth (issue #19, point 5): remote and on-site answers apart,
a hybrid offer far away listed « à distance » without its km, a barrier without an
on-site answer flagged « aucune réponse de proximité » (and counted in the unmet
demand), what a constraint makes useless left out."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from catalogue import cto
from catalogue import levers as rules
from catalogue.cto import SearchLog, Shortlist
from tests.web.cto.conftest import pro, token  # noqa: F401  (fixtures)

LAON = "02408"
AUBENTON = "02031"
# East of Laon on its parallel: about 65 km and 103 km away.
AT_65_KM = "SRID=4326;POINT(4.43 49.5641)"
AT_103_KM = "SRID=4326;POINT(5.05 49.5641)"
BOTH = ["en-presentiel", "a-distance"]


def _shortlist(db) -> Shortlist:
    return db.scalars(select(Shortlist).order_by(Shortlist.id.desc())).first()


def _post(client, csrf, commune, code, freins, **extra):
    data = {"csrf_token": csrf(), "commune": commune, "code_commune": code, "freins": freins, "duree": "30"}
    data.update(extra)
    r = client.post("/cto/leviers", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return r.headers["Location"]


# --- the rules alone ---------------------------------------------------------------------

def test_answer_mode():
    assert rules.answer_mode(["en-presentiel"], 3_000, 10) == rules.ON_SITE
    assert rules.answer_mode([], 3_000, 10) == rules.ON_SITE
    assert rules.answer_mode(BOTH, 3_000, 10) == rules.ON_SITE
    assert rules.answer_mode(BOTH, 65_000, 10) == rules.REMOTE  # hybrid, far away: remote
    assert rules.answer_mode(["a-distance"], None, 10) == rules.REMOTE
    assert rules.answer_mode(["en-presentiel"], 65_000, 10) is None


def test_useless_because():
    repair = ["mobilite--entretenir-reparer-son-vehicule"]
    assert rules.useless_because(repair, "mobilite", rules.ON_SITE, no_vehicle=True) == "sans_vehicule"
    assert rules.useless_because(repair, "mobilite", rules.ON_SITE, no_vehicle=False) is None
    # a garage that also lends cars is of use without a car
    both = [*repair, "mobilite--acceder-a-un-vehicule"]
    assert rules.useless_because(both, "mobilite", rules.ON_SITE, no_vehicle=True) is None
    creche = ["famille--garde-denfants"]
    assert rules.useless_because(creche, "garde-enfant-famille", rules.REMOTE, no_vehicle=False) == "sur_place_seulement"
    assert rules.useless_because(creche, "garde-enfant-famille", rules.ON_SITE, no_vehicle=False) is None
    # only the offer's thematiques of the barrier count
    mixed = ["famille--garde-denfants", "famille--soutien-a-la-parentalite-et-a-leducation"]
    assert rules.useless_because(mixed, "garde-enfant-famille", rules.REMOTE, no_vehicle=False) is None


# --- the cases, through the levers tool ---------------------------------------------

def test_hybrid_offer_far_away_is_listed_remote_without_km(db, client, factories, pro, token):  # noqa: F811
    near = factories.ServiceFactory(nom="Auto-école sociale de Laon")
    hybrid_65 = factories.ServiceFactory(nom="Plateforme mobilité hybride", modes_accueil=BOTH, location=AT_65_KM)
    hybrid_103 = factories.ServiceFactory(nom="Conseil mobilité lointain", modes_accueil=BOTH, location=AT_103_KM)
    far_on_site = factories.ServiceFactory(nom="Garage sur place lointain", location=AT_65_KM)
    db.flush()
    url = _post(client, token, "Laon", LAON, ["mobilite"], sans_vehicule="1")
    saved = _shortlist(db)
    assert set(saved.results["mobilite"]) == {str(near.id), str(hybrid_65.id), str(hybrid_103.id)}
    assert str(far_on_site.id) not in saved.results["mobilite"]
    page = client.get(url).get_data(as_text=True)
    assert "sans véhicule : à distance ou à moins de 10 km" in page
    assert "65,0 km" not in page and "103" not in page and "à 64" not in page
    on_site, remote = page.split("Sur place, à moins de 10 km", 1)[1].split("À distance</h3>", 1)
    assert "Auto-école sociale de Laon" in on_site and "Plateforme mobilité hybride" not in on_site
    assert "Plateforme mobilité hybride" in remote and "Conseil mobilité lointain" in remote
    assert "Aucune réponse de proximité" not in page
    pdf = client.get(url + ".pdf")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"


def test_rural_commune_where_everything_is_remote(db, client, factories, pro, token):  # noqa: F811
    """Aubenton, without a vehicle: every answer remote; childcare and vehicle repair
    (of no use there) left out; each barrier flagged, and counted as unmet demand."""
    factories.ServiceFactory(nom="Permis en ligne", modes_accueil=["a-distance"], location=None)
    factories.ServiceFactory(nom="Places en crèche", thematiques=["famille--garde-denfants"], modes_accueil=BOTH)
    factories.ServiceFactory(nom="Réparation de véhicules", thematiques=["mobilite--entretenir-reparer-son-vehicule"],
                             modes_accueil=BOTH)
    factories.ServiceFactory(nom="Écoute parentale", modes_accueil=["a-distance"], location=None,
                             thematiques=["famille--soutien-a-la-parentalite-et-a-leducation"])
    db.flush()
    url = _post(client, token, "Aubenton", AUBENTON, ["mobilite", "garde-enfant-famille"], sans_vehicule="1")
    page = client.get(url).get_data(as_text=True)
    assert "Permis en ligne" in page and "Écoute parentale" in page
    assert "Places en crèche" not in page and "Réparation de véhicules" not in page
    assert "offre écartée</small>" not in page
    assert "1 offre écartée : elles supposent un véhicule" in page
    assert "1 offre écartée : utiles sur place seulement, et hors de portée" in page
    assert "Aucune réponse de proximité :</strong> Mobilité, Garde d'enfant" in page.replace("&#39;", "'")
    assert page.count("<strong>Aucune réponse de proximité</strong>") == 2
    saved = _shortlist(db)
    assert saved.constraints["proximite"] == {"mobilite": 0, "garde-enfant-famille": 0}
    # one log row per barrier, with no on-site answer: counted in the unmet demand
    logged = db.scalars(select(SearchLog)).all()
    assert len(logged) == 2 and all(r.filters["reponses_proximite"] == 0 for r in logged)
    since = date.today() - timedelta(days=7)
    rows = cto.unmet_demand(db, since)
    assert {r["groupe"]: r["no_nearby"] for r in rows if r["code_commune"] == AUBENTON} == {
        "mobilite": 1, "garde-enfant-famille": 1}
    top = cto.top_unmet(db, since)
    assert sum(t["no_nearby"] for t in top) == 2
    demand = client.get("/pilotage/demande").get_data(as_text=True)
    assert "Aucune réponse de proximité" in demand
    csv = client.get("/pilotage/demande.csv").get_data(as_text=True)
    assert "Aucune réponse de proximité" in csv.splitlines()[2]


def test_vehicle_repair_excluded_without_vehicle_only(db, client, factories, pro, token):  # noqa: F811
    garage = factories.ServiceFactory(nom="Garage solidaire", thematiques=["mobilite--entretenir-reparer-son-vehicule"])
    db.flush()
    _post(client, token, "Laon", LAON, ["mobilite"], sans_vehicule="1")
    saved = _shortlist(db)
    assert saved.results["mobilite"] == []
    assert saved.constraints["ecartees"]["mobilite"] == {"sans_vehicule": 1}
    _post(client, token, "Laon", LAON, ["mobilite"])
    assert _shortlist(db).results["mobilite"] == [str(garage.id)]


def test_on_site_answers_beyond_the_first_page_are_found(db, client, factories, pro, token):  # noqa: F811
    """Many remote offers fill the pertinence page: the on-site ones within reach
    are still found (a second search, nearest first)."""
    for n in range(rules.FETCH + 5):
        factories.ServiceFactory(nom=f"En ligne {n}", modes_accueil=["a-distance"], location=None)
    # 25 km away: proximity 0.29 < 0.5 of a remote offer, so after every remote one
    twenty_five = factories.ServiceFactory(nom="Sur place à 25 km", location="SRID=4326;POINT(3.97 49.5641)")
    db.flush()
    _post(client, token, "Laon", LAON, ["mobilite"], rayon_km="30")
    saved = _shortlist(db)
    assert str(twenty_five.id) in saved.results["mobilite"]
    assert saved.constraints["proximite"]["mobilite"] == 1
    assert len(saved.results["mobilite"]) == 1 + rules.PER_BARRIER
