"""« Trouver des leviers »: per barrier the best eligible and reachable offers,
barriers without an answer flagged; the shortlist is saved, annotated, shared,
printed, exported as PDF and deleted when it expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from catalogue import cto
from catalogue.cto import CtoMembership, SearchLog, Shortlist
from tests.auth_helpers import make_user
from tests.web.cto.conftest import log_in

LAON = "02408"
# About 20 km north-east of Laon (Marle).
FAR_20KM = "SRID=4326;POINT(3.7717 49.7397)"


def _form(token, **extra):
    data = {"csrf_token": token, "commune": "Laon", "code_commune": LAON, "freins": ["mobilite", "logement"],
            "duree": "30"}
    data.update(extra)
    return data


def _shortlist(db) -> Shortlist:
    return db.scalars(select(Shortlist).order_by(Shortlist.id.desc())).first()


def test_levers_per_barrier_and_no_answer_flagged(db, client, factories, pro, token):
    near = factories.ServiceFactory(nom="Garage solidaire de Laon")
    far = factories.ServiceFactory(nom="Location de scooters à Marle", location=FAR_20KM)
    remote = factories.ServiceFactory(nom="Plateforme mobilité en ligne", modes_accueil=["a-distance"], location=None)
    factories.ServiceFactory(nom="Réservé aux jeunes", publics=["jeunes"])
    db.flush()
    r = client.post("/cto/leviers", data=_form(token(), sans_vehicule="1", rayon_km="10", publics=["femmes"]))
    assert r.status_code == 302
    saved = _shortlist(db)
    assert saved.created_by_id == pro.id
    # without a vehicle, 10 km: Laon and the remote offer, not Marle nor the youth-only offer
    assert set(saved.results["mobilite"]) == {str(near.id), str(remote.id)}
    assert saved.results["logement"] == []
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Garage solidaire de Laon" in page and "Location de scooters" not in page
    assert "Sans réponse sur le territoire" in page and "Logement" in page
    assert saved.expires_at - datetime.now(UTC) > timedelta(days=29)
    # with a vehicle (default radius 50 km) Marle is reached
    client.post("/cto/leviers", data=_form(token(), freins=["mobilite"]))
    assert str(far.id) in _shortlist(db).results["mobilite"]


def test_days_filter(db, client, factories, pro, token):
    weekdays = factories.ServiceFactory(nom="Ouvert en semaine", horaires_accueil="Mo-Fr 09:00-12:00")
    saturday = factories.ServiceFactory(nom="Ouvert le samedi", horaires_accueil="Sa 09:00-12:00")
    unknown = factories.ServiceFactory(nom="Horaires inconnus", horaires_accueil=None)
    db.flush()
    client.post("/cto/leviers", data=_form(token(), freins=["mobilite"], jours=["samedi"]))
    kept = set(_shortlist(db).results["mobilite"])
    assert kept == {str(saturday.id), str(unknown.id)} and str(weekdays.id) not in kept


def test_bad_input_is_named(db, client, pro, token):
    r = client.post("/cto/leviers", data=_form(token(), freins=[], rayon_km="abc", commune="Nullepartville",
                                               code_commune=""))
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Freins : cochez au moins un frein" in html
    assert "Distance : un nombre entier" in html
    assert "aucune commune ne correspond à « Nullepartville »" in html
    r = client.post("/cto/leviers", data=_form(token(), duree="999"))
    assert r.status_code == 400 and "Durée de conservation : un nombre de jours entre 1 et 180, reçu « 999 »" in r.get_data(as_text=True)
    assert client.post("/cto/leviers", data=_form("faux")).status_code == 400  # CSRF


def test_annotate_share_pdf_delete(db, client, factories, pro, token):
    service = factories.ServiceFactory(nom="Garage solidaire")
    db.flush()
    url = client.post("/cto/leviers", data=_form(token(), remarques="Horaires de travail en équipe")).headers["Location"]
    saved = _shortlist(db)
    r = client.post(url + "/notes", data={"csrf_token": token(), "offre": str(service.id), "note": "Appeler lundi"})
    assert r.status_code == 303
    db.refresh(saved)
    assert saved.annotations == {str(service.id): "Appeler lundi"}
    assert "Appeler lundi" in client.get(url).get_data(as_text=True)
    pdf = client.get(url + ".pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data[:4] == b"%PDF"
    # Another member of the CTO holding the owner's link reads nothing (404), nor annotates.
    other = make_user(db, email="collegue@example.org")
    db.add(CtoMembership(user_id=other.id, territory_slug="laonnois"))
    db.flush()
    log_in(client, other)
    assert client.get(url).status_code == 404 and client.get(url + ".pdf").status_code == 404
    assert client.post(url + "/notes", data={"csrf_token": token(), "offre": str(service.id), "note": "x"}).status_code == 404
    assert client.post(url + "/partage", data={"csrf_token": token(), "action": "partager"}).status_code == 404
    # The owner chooses to share: a link of its own, read only for a member of the CTO.
    log_in(client, pro)
    assert "Créer un lien de partage" in client.get(url).get_data(as_text=True)
    assert client.post(url + "/partage", data={"csrf_token": token(), "action": "partager"}).status_code == 303
    db.refresh(saved)
    assert saved.share_token and saved.share_token != saved.token
    shared = f"/cto/partage/{saved.share_token}"
    assert shared in client.get(url).get_data(as_text=True)
    log_in(client, other)
    page = client.get(shared).get_data(as_text=True)
    assert "Garage solidaire" in page and "Appeler lundi" in page and "Enregistrer la note" not in page
    assert saved.token not in page  # the owner's link is not given away
    assert client.get(shared + ".pdf").data[:4] == b"%PDF"
    # An account with no CTO role is refused the shared link; an anonymous visitor must log in.
    log_in(client, make_user(db, email="inscrit@example.org"))
    assert client.get(shared).status_code == 403
    with client.session_transaction() as s:
        s.clear()
    assert client.get(url).status_code == 302
    # The owner stops sharing: the link dies; then deletes the list.
    log_in(client, pro)
    assert client.post(url + "/partage", data={"csrf_token": token(), "action": "arreter"}).status_code == 303
    log_in(client, other)
    assert client.get(shared).status_code == 404
    log_in(client, pro)
    assert client.post(url + "/partage", data={"csrf_token": token(), "action": "?"}).status_code == 400
    assert client.post(url + "/supprimer", data={"csrf_token": token()}).status_code == 303
    assert client.get(url).status_code == 404


def test_expired_shortlists_unreachable_then_purged(db, client, factories, pro, token):
    factories.ServiceFactory()
    db.flush()
    url = client.post("/cto/leviers", data=_form(token())).headers["Location"]
    saved = _shortlist(db)
    saved.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.flush()
    assert client.get(url).status_code == 404
    old = SearchLog(week=cto.week_of((datetime.now(UTC) - timedelta(days=500)).date()), thematiques=[],
                    filters={}, result_count=0)
    db.add(old)
    db.flush()
    logs, lists = cto.purge(db, 396, datetime.now(UTC))
    assert lists == 1 and logs == 1
    assert db.scalar(text("SELECT count(*) FROM cto_shortlist WHERE id = :i"), {"i": saved.id}) == 0
    # the lever searches themselves were logged (recent: kept), one per barrier
    assert db.scalar(select(text("count(*)")).select_from(SearchLog)) == 2


def test_login_required(client):
    r = client.get("/cto/leviers")
    assert r.status_code == 302 and "/connexion" in r.headers["Location"]
