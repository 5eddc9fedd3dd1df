"""The public pages, through the Flask client on a real PostGIS."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta

from sqlalchemy import func, select

from catalogue.models import ErrorReport, Status

LAON = "02408"
CA_PAYS_DE_LAON = "200043495"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_home_has_search_form_with_commune_need_and_text(client):
    page = text_of(client.get("/"))
    assert 'action="/recherche"' in page and 'method="get"' in page
    assert '<label for="commune">' in page and 'name="commune"' in page
    assert '<select id="besoin" name="thematiques">' in page and 'value="mobilite"' in page
    assert 'name="q"' in page
    assert "Les dix thématiques du SPIE" in page


def test_commune_autocomplete_json(client):
    found = client.get("/communes.json?q=lao").get_json()
    assert found[0]["code"] == LAON and found[0]["label"] == "Laon (02000)"
    by_postcode = client.get("/communes.json?q=02000").get_json()
    assert LAON in [c["code"] for c in by_postcode]
    assert client.get("/communes.json?q=").get_json() == []


def test_typed_commune_is_resolved_server_side(client, factories):
    factories.ServiceFactory(nom="Permis solidaire", zone_eligibilite=[CA_PAYS_DE_LAON])
    page = text_of(client.get("/recherche?commune=laon&thematiques=mobilite"))
    assert "pour une personne habitant Laon" in page
    assert "Permis solidaire" in page
    assert "Éligible : habitants de la CA du Pays de Laon" in page
    # The resolved commune stays in the form: the URL of the next search holds it.
    assert 'name="code_commune" id="code_commune" value="02408"' in page


def test_several_communes_ask_to_choose(client):
    response = client.get("/recherche?commune=Vauciennes&thematiques=mobilite")
    page = text_of(response)
    assert response.status_code == 200
    assert "Plusieurs communes correspondent à « Vauciennes »" in page
    links = re.findall(r'href="(/recherche\?[^"]+)"', page)
    assert len([u for u in links if "code_commune=" in u]) == 2
    assert all("thematiques=mobilite" in u for u in links if "code_commune=" in u)


def test_unknown_commune_says_so(client):
    response = client.get("/recherche?commune=Zzzyville")
    assert response.status_code == 400
    assert "Commune : aucune commune ne correspond à « Zzzyville »" in text_of(response)


def test_bad_filter_names_the_field(client):
    response = client.get("/recherche?code_commune=02408&publics=martiens")
    assert response.status_code == 400
    assert "publics : public inconnu : martiens" in text_of(response)


def test_results_show_distance_remote_eligibility_mobilisation_and_freshness(client, factories):
    today = date.today()
    factories.ServiceFactory(
        nom="Garage solidaire",
        zone_eligibilite=[LAON],
        modes_mobilisation=["telephoner"],
        mobilisable_par=["professionnels", "usagers"],
        telephone="03 23 00 00 00",
        date_maj=today - timedelta(days=95),
    )
    factories.ServiceFactory(
        nom="Conseil mobilité en visio",
        modes_accueil=["a-distance"],
        location=None,
        zone_eligibilite=["02"],
        date_maj=today - timedelta(days=400),
        frequence_maj_jours=180,
    )
    page = text_of(client.get("/recherche?code_commune=02408&thematiques=mobilite"))
    assert "Garage solidaire" in page and "Conseil mobilité en visio" in page
    assert re.search(r"<dd>à [\d,]+ k?m</dd>", page)
    assert "<dd>à distance</dd>" in page
    assert "Éligible : habitants de Laon" in page
    assert "Éligible : habitants du département : Aisne (02)" in page
    assert "Téléphoner" in page and "par professionnels ou usagers" in page.lower()
    assert "mis à jour il y a 3 mois" in page
    # Only the one past its update frequency carries the stale mark.
    assert page.count('class="stale"') == 1
    # Thematique labels, never codes.
    assert "Préparer un permis" in page or "permis" in page.lower()
    assert "mobilite--preparer-un-permis" not in re.sub(r'value="[^"]*"|id="[^"]*"|for="[^"]*"', "", page)
    # The remote one is listed apart from the map.
    assert "À distance (hors carte)" in page


def test_results_filters_carry_facet_counts_and_pagination(client, factories):
    for i in range(25):
        factories.ServiceFactory(nom=f"Offre {i:02d}", frais="payant" if i < 5 else "gratuit")
    page = text_of(client.get("/recherche?code_commune=02408&size=10"))
    assert re.search(r'<label for="f-frais-payant">Payant <span class="count">\(5\)</span>', page)
    assert re.search(r'<label for="f-frais-gratuit">Gratuit <span class="count">\(20\)</span>', page)
    assert "Page 1 sur 3" in page
    next_url = re.search(r'href="([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
    assert "page=2" in next_url and "code_commune=02408" in next_url and "size=10" in next_url
    page2 = text_of(client.get(next_url))
    assert "Page 2 sur 3" in page2
    assert 'rel="prev"' in page2
    # Export links keep the whole search.
    assert "/recherche/export.pdf?code_commune=02408&amp;size=10" in page


def test_results_map_has_markers_and_uses_only_our_assets(client, factories):
    factories.ServiceFactory(nom="Auto-école sociale")
    page = text_of(client.get("/recherche?code_commune=02408"))
    # The map's description is data (no inline script), drawn by our static script.
    config = re.search(r'<script type="application/json" id="(carte-\d+)-config">(.*?)</script>', page, re.S)
    assert config and f'data-map-config="{config.group(1)}-config"' in page
    assert json.loads(config.group(2))["points"][0][2] == "Auto-école sociale"
    assert "/static/vendor/leaflet/leaflet.js" in page and "/static/js/static-map.js" in page
    assert not re.search(r'(src|href)="https?://', page)
    assert "$(" not in page  # no jQuery


def test_service_page_tells_everything_in_words(client, factories):
    service = factories.ServiceFactory(
        nom="Location de scooters",
        zone_eligibilite=[CA_PAYS_DE_LAON],
        horaires_accueil="24/7",
        modes_mobilisation=["envoyer-un-courriel", "se-presenter"],
        mobilisable_par=["usagers"],
        courriel="mobilite@example.org",
        conditions_acces="Avoir un projet d'emploi.",
    )
    page = text_of(client.get(f"/services/{service.id}"))
    assert "<h1>Location de scooters</h1>" in page
    assert "Éligible : habitants de la CA du Pays de Laon" in page
    assert "Ouvert 24 h sur 24, 7 jours sur 7" in page and "Ouvert maintenant" in page
    assert "Envoyer un courriel" in page and "Usagers" in page
    assert "mobilite@example.org" in page
    assert "Avoir un projet d&#39;emploi." in page
    assert "Source : test" in page
    assert 'name="csrf_token"' in page and "Signaler une erreur" in page
    # The zone is drawn from the référentiel boundaries.
    assert '"type": "Feature"' in page or "MultiPolygon" in page


def test_service_hours_fall_back_to_raw_expression(client, factories):
    service = factories.ServiceFactory(horaires_accueil='Mo-Fr 09:00-12:00 "sur rendez-vous"')
    page = text_of(client.get(f"/services/{service.id}"))
    assert "<code>Mo-Fr 09:00-12:00 &#34;sur rendez-vous&#34;</code>" in page


def test_unpublished_or_unknown_service_is_404(client, factories):
    archived = factories.ServiceFactory(status=Status.ARCHIVE)
    assert client.get(f"/services/{archived.id}").status_code == 404
    assert client.get(f"/services/{uuid.uuid4()}").status_code == 404
    assert client.get("/services/pas-un-uuid").status_code == 404


def test_structure_page_lists_its_published_services(client, factories):
    structure = factories.StructureFactory(nom="Mission locale de Laon", telephone="03 23 11 11 11")
    factories.ServiceFactory(structure=structure, nom="Aide au permis")
    factories.ServiceFactory(structure=structure, nom="Offre retirée", status=Status.ARCHIVE)
    page = text_of(client.get(f"/structures/{structure.id}"))
    assert "<h1>Mission locale de Laon</h1>" in page
    assert "Aide au permis" in page and "Offre retirée" not in page
    assert "Ses offres (1)" in page


def _token(client) -> str:
    with client.session_transaction() as s:
        s["_csrf"] = "t"
    return "t"


def _reports(db, service_id):
    return db.scalars(select(ErrorReport).where(ErrorReport.service_id == service_id)).all()


def test_error_report_is_stored_and_mailed_to_structure_and_moderators(app, client, db, factories, smtp):
    controller, inbox = smtp
    settings = app.extensions["offre"]["settings"]
    app.extensions["offre"]["settings"] = settings.replace(
        smtp_host="127.0.0.1", smtp_port=controller.port, contact_email="moderation@example.org"
    )
    structure = factories.StructureFactory(courriel="structure@example.org")
    service = factories.ServiceFactory(structure=structure, nom="Permis à 1 euro")
    response = client.post(
        f"/services/{service.id}/signaler",
        data={"csrf_token": _token(client), "message": "Le numéro de téléphone a changé.", "email": "ref@example.org"},
    )
    assert response.status_code == 302
    assert "enregistré et a été transmis" in text_of(client.get(response.headers["Location"]))
    [report] = _reports(db, service.id)
    assert report.message == "Le numéro de téléphone a changé." and report.email == "ref@example.org"
    [mail] = inbox.messages
    assert set(mail.rcpt_tos) == {"structure@example.org", "moderation@example.org"}
    assert "Permis" in mail.content.decode("utf-8", "replace")


def test_error_report_is_kept_when_mail_fails(app, client, db, factories, free_port):
    settings = app.extensions["offre"]["settings"]
    app.extensions["offre"]["settings"] = settings.replace(smtp_host="127.0.0.1", smtp_port=free_port)
    service = factories.ServiceFactory()
    response = client.post(
        f"/services/{service.id}/signaler",
        data={"csrf_token": _token(client), "message": "L'adresse est fausse depuis juin."},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Le courriel de prévenance n&#39;a pas pu partir" in text_of(response)
    assert len(_reports(db, service.id)) == 1


def test_invalid_error_report_names_the_field_and_stores_nothing(client, db, factories):
    service = factories.ServiceFactory()
    response = client.post(
        f"/services/{service.id}/signaler",
        data={"csrf_token": _token(client), "message": "court", "email": "pas-une-adresse"},
    )
    page = text_of(response)
    assert response.status_code == 400
    assert "Message : décrivez l&#39;erreur en 10 caractères au moins." in page
    assert "Courriel : adresse invalide" in page
    assert 'value="pas-une-adresse"' in page
    assert _reports(db, service.id) == []


def test_error_report_without_csrf_token_is_refused(client, db, factories):
    service = factories.ServiceFactory()
    response = client.post(f"/services/{service.id}/signaler", data={"message": "Un message assez long."})
    assert response.status_code == 400
    assert _reports(db, service.id) == []


def test_public_map_points_are_compact_filtered_and_gzipped(client, factories, db):
    mob = factories.ServiceFactory(thematiques=["mobilite--preparer-un-permis"])
    logement = factories.ServiceFactory(thematiques=["logement-hebergement--louer-un-logement"])
    factories.ServiceFactory(location=None, modes_accueil=["a-distance"])
    body = client.get("/carte/points.json").get_json()
    assert body["fields"] == ["lon", "lat", "id"]
    ids = {p[2] for p in body["points"]}
    assert {mob.id.hex, logement.id.hex} <= ids
    total = db.scalar(select(func.count()).select_from(type(mob)).where(
        type(mob).status == Status.PUBLIE, type(mob).location.is_not(None), type(mob).duplicate_of_id.is_(None)))
    assert len(body["points"]) == total
    assert [round(x, 4) for x in body["points"][0][:2]] == [round(x, 4) for x in body["points"][0][:2]]
    only_mob = {p[2] for p in client.get("/carte/points.json?thematique=mobilite").get_json()["points"]}
    assert mob.id.hex in only_mob and logement.id.hex not in only_mob
    zipped = client.get("/carte/points.json", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    etag = zipped.headers["ETag"].strip('"')
    assert client.get("/carte/points.json", headers={"If-None-Match": f'"{etag}"'}).status_code == 304
    popup = client.get(f"/carte/offres/{mob.id}.json").get_json()
    assert popup["nom"] == mob.nom and popup["url"] == f"/services/{mob.id}"


def test_public_map_page_has_a_list_alternative(client, factories):
    factories.ServiceFactory(thematiques=["mobilite--preparer-un-permis"])
    page = text_of(client.get("/carte?thematique=mobilite"))
    assert "<offre-map" in page and "/carte/points.json?thematique=mobilite" in page
    assert re.search(r">Laon</a> : \d+ offres? sur place", page)
    bad = client.get("/carte?thematique=licornes")
    assert bad.status_code == 400 and "thematique : « licornes »" in text_of(bad)
