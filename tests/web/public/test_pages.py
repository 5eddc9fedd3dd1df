"""The public pages, through the Flask client on a real PostGIS."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta

from sqlalchemy import select

from catalogue.models import ErrorReport, Status
from tests.static_names import static_url

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


def test_five_digits_in_the_commune_field_say_which_code_matched(client):
    # 02100: Saint-Quentin's postal code, Bony's INSEE code (its postal code: 02420).
    found = client.get("/communes.json?q=02100").get_json()
    assert found[0]["code"] == "02691" and found[0]["detail"] == "Saint-Quentin — code postal 02100"
    bony = found[-1]
    assert bony["code"] == "02100" and bony["correspondance"] == "code_commune"
    assert bony["detail"] == "Bony — code commune 02100" and "02420" not in bony["detail"]
    # Typed without the list, the person chooses between them, each saying why.
    page = text_of(client.get("/recherche?commune=02100"))
    assert "Plusieurs communes correspondent à « 02100 »" in page
    plain = re.sub(r"<[^>]+>", "", page)
    assert "Bony — département 02, code commune 02100 (code postal 02420)" in plain
    assert page.index("Saint-Quentin") < page.index("Bony")


def test_typed_commune_is_resolved_server_side(client, factories):
    factories.ServiceFactory(nom="Permis solidaire", zone_eligibilite=[CA_PAYS_DE_LAON])
    page = text_of(client.get("/recherche?commune=laon&thematiques=mobilite"))
    assert "pour une personne habitant Laon" in page
    assert "Permis solidaire" in page
    assert "Éligible : habitants de la communauté d&#39;agglomération du Pays de Laon" in page
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
    # The address and the distance of the place.
    assert re.search(r"<dd>[^<]*Laon — à [\d,]+ k?m</dd>", page)
    assert "<dd>à distance</dd>" in page
    assert "Éligible : habitants de Laon" in page
    assert "Éligible : habitants du département : Aisne (02)" in page
    assert "Par téléphone" in page
    assert "demande faite par un professionnel qui vous accompagne (conseiller, travailleur social…) ou vous-même" in page
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
    assert "Page 1 sur 3." in page
    next_url = re.search(r'href="([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
    assert "page=2" in next_url and "code_commune=02408" in next_url and "size=10" in next_url
    page2 = text_of(client.get(next_url))
    assert "Page 2 sur 3" in page2
    assert 'rel="prev"' in page2
    # Export links keep the whole search.
    assert "/recherche/export.pdf?code_commune=02408&amp;size=10" in page


def test_numbered_pagination_marks_the_current_page(client, factories):
    for i in range(75):
        factories.ServiceFactory(nom=f"Offre {i:02d}")
    page = text_of(client.get("/recherche?code_commune=02408&size=10&page=4"))
    nav = page[page.index('class="pagination"'):]
    nav = nav[: nav.index("</nav>")]
    numbers = re.findall(r'<span class="visually-hidden">Page </span>(\d+)</a>', nav)
    assert numbers == ["1", "2", "3", "4", "5", "6", "8"]
    assert "…" in nav
    current = re.findall(r'<a href="([^"]+)" aria-current="page">', nav)
    assert len(current) == 1 and "page=4" in current[0]


def test_empty_result_suggests_nearby_searches_with_counts(client, factories):
    # One payant offer in Laon: « gratuit » finds nothing; without that filter, one.
    factories.ServiceFactory(nom="Atelier payant", frais="payant", zone_eligibilite=[LAON])
    response = client.get("/recherche?code_commune=02408&frais=gratuit")
    page = text_of(response)
    assert response.status_code == 200
    assert "Aucune offre ne correspond à cette recherche." in page
    # No export of an empty result.
    assert "export.pdf" not in page and "export.csv" not in page
    found = re.search(r'<li><a href="([^"]+)">sans le filtre de frais « Gratuit »</a> : 1 offre</li>', page)
    assert found, page[page.index("empty-state"):][:1500]
    assert "frais=" not in found.group(1)
    assert "Atelier payant" in text_of(client.get(found.group(1).replace("&amp;", "&")))
    # A larger radius is proposed only when it finds something; the SPIE is named.
    assert "mailto:spie@example.org" in page


def test_empty_result_without_any_nearby_answer_says_whom_to_ask(client):
    page = text_of(client.get("/recherche?code_commune=02408&q=zzzqqqxx"))
    assert "Aucune offre ne correspond à cette recherche." in page
    assert "Ces recherches proches" not in page
    assert "mailto:spie@example.org" in page


def test_results_map_has_markers_and_uses_only_our_assets(client, factories):
    factories.ServiceFactory(nom="Auto-école sociale")
    page = text_of(client.get("/recherche?code_commune=02408"))
    # The map's description is data (no inline script), drawn by our static script.
    config = re.search(r'<script type="application/json" id="(carte-\d+)-config">(.*?)</script>', page, re.S)
    assert config and f'data-map-config="{config.group(1)}-config"' in page
    assert json.loads(config.group(2))["points"][0][2] == "Auto-école sociale"
    assert static_url("vendor/leaflet/leaflet.js") in page and static_url("js/static-map.js") in page
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
    assert "Éligible : habitants de la communauté d&#39;agglomération du Pays de Laon" in page
    assert "Ouvert 24 h sur 24, 7 jours sur 7" in page and "Ouvert maintenant" in page
    assert "Par courriel, en vous présentant sur place" in page and "<dd>Vous-même</dd>" in page
    assert "Comment en bénéficier" in page and "Qui peut faire la demande" in page
    assert "mobilite@example.org" in page
    assert "Avoir un projet d&#39;emploi." in page
    # Who wrote it, in words: never a source code.
    assert "Fiche reprise d&#39;une base partenaire" in page and "Source : test" not in page
    assert 'name="csrf_token"' in page and "Signaler une erreur" in page
    # The zone is drawn from the référentiel boundaries.
    assert '"type": "Feature"' in page or "MultiPolygon" in page


def test_service_hours_fall_back_to_raw_expression(client, factories):
    service = factories.ServiceFactory(horaires_accueil='Mo-Fr 09:00-12:00 "sur rendez-vous"')
    page = text_of(client.get(f"/services/{service.id}"))
    assert "<code>Mo-Fr 09:00-12:00 &#34;sur rendez-vous&#34;</code>" in page


def test_service_page_shows_its_temporary_message_with_its_dates_until_its_end(client, factories):
    today = date.today()
    service = factories.ServiceFactory(
        message_temporaire="Plan grand froid : distribution de duvets.",
        message_debut=date(today.year + 5, 3, 1), message_fin=date(today.year + 5, 3, 31),
        horaires_accueil=f"Mo 09:00-12:00; {today.year + 5} Aug 01-{today.year + 5} Aug 15 off",
    )
    page = text_of(client.get(f"/services/{service.id}"))
    assert (f"Information temporaire (du 1er mars {today.year + 5} au 31 mars {today.year + 5}) :</strong> "
            "Plan grand froid : distribution de duvets.") in page
    assert f"du 1er août {today.year + 5} au 15 août {today.year + 5} : fermé" in page
    over = factories.ServiceFactory(message_temporaire="Fermé pour travaux.", message_debut=today - timedelta(days=9),
                                    message_fin=today - timedelta(days=1))
    assert "Fermé pour travaux" not in text_of(client.get(f"/services/{over.id}"))


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


def test_public_map_popup_and_list_alternative(client, factories):
    mob = factories.ServiceFactory(thematiques=["mobilite--preparer-un-permis"])
    popup = client.get(f"/carte/offres/{mob.id}.json").get_json()
    assert popup["nom"] == mob.nom and popup["url"] == f"/services/{mob.id}"
    page = text_of(client.get("/carte?thematique=mobilite"))
    assert "<offre-map" in page and "/carte/groupes.json?thematique=mobilite&amp;departement=02" in page
    assert re.search(r">Laon</a> : \d+ offres? sur place", page)
    bad = client.get("/carte?thematique=licornes")
    assert bad.status_code == 400 and "thematique : « licornes »" in text_of(bad)


def test_service_page_gives_directions_print_and_the_way_back(client, factories):
    service = factories.ServiceFactory(nom="Garage solidaire", zone_eligibilite=[LAON])
    search = "code_commune=02408&thematiques=mobilite&page=2"
    page = text_of(client.get(f"/services/{service.id}", query_string={"retour": search}))
    # Directions: a route planner (a setting) and a geo: URI for phones.
    assert re.search(r'href="https://www\.openstreetmap\.org/directions\?to=49\.\d+,3\.\d+"', page)
    assert re.search(r'href="geo:49\.\d+,3\.\d+\?q=49\.\d+,3\.\d+\(Garage%20solidaire\)"', page)
    # « Imprimer » is a real button, hidden until its script shows it.
    assert '<button type="button" class="secondary outline js-print" hidden>Imprimer</button>' in page
    assert static_url("js/print.js") in page and "onclick" not in page
    # The breadcrumb goes back to the exact search.
    back = re.search(r'<li><a href="([^"]+)">Retour aux résultats</a></li>', page).group(1)
    assert back == "/recherche?code_commune=02408&amp;thematiques=mobilite&amp;page=2"


def test_the_way_back_never_leaves_the_search(client, factories):
    service = factories.ServiceFactory(nom="Garage solidaire")
    for forged in ("https://evil.example/", "//evil.example", "javascript:alert(1)", "x=1&next=https://evil.example"):
        page = text_of(client.get(f"/services/{service.id}", query_string={"retour": forged}))
        crumb = re.search(r'<nav aria-label="Fil d\'Ariane"[^>]*>(.*?)</nav>', page, re.S).group(1)
        assert "evil" not in crumb and "javascript" not in crumb
        assert 'href="/recherche"' in crumb


def test_result_cards_show_the_address_and_whether_open(client, factories):
    factories.ServiceFactory(nom="Ouvert toujours", horaires_accueil="24/7", adresse="2 rue Citerne",
                             code_postal="02000", commune="Laon")
    factories.ServiceFactory(nom="Jamais ouvert", horaires_accueil="off")
    page = text_of(client.get("/recherche?code_commune=02408"))
    assert re.search(r"<dd>2 rue Citerne, 02000 Laon — à [\d,]+ k?m</dd>", page)
    assert '<span class="open-now">Ouvert maintenant</span>' in page
    assert '<span class="closed-now">Fermé</span>' in page
    # The links to the offers carry the search back.
    assert re.search(r'href="/services/[0-9a-f-]+\?retour=code_commune%3D02408"', page)


def test_open_state_in_words():
    from datetime import datetime

    from web.public.views import open_state

    friday_noon = datetime(2026, 12, 4, 12, 30)  # a Friday
    hours = "Mo-Fr 09:00-12:00,14:00-17:00"
    assert open_state(hours, friday_noon) == {"ouvert": False, "mots": "Fermé · ouvre à 14 h"}
    assert open_state(hours, datetime(2026, 12, 4, 10, 0)) == {"ouvert": True, "mots": "Ouvert jusqu'à 12 h"}
    assert open_state(hours, datetime(2026, 12, 4, 18, 0))["mots"] == "Fermé · ouvre lundi à 9 h"
    assert open_state("Mo-Fr 08:30-12:00", datetime(2026, 12, 3, 13, 0))["mots"] == "Fermé · ouvre demain à 8 h 30"
    assert open_state("n'importe quoi", friday_noon) is None and open_state(None, friday_noon) is None


def test_print_stylesheet_drops_live_states():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[3] / "web/static/css/print.css").read_text()
    rule = re.search(r"\.live-state, \.open-now, \.closed-now[^{]*\{ display: none !important; \}", css)
    assert rule


def test_the_base_layer_is_the_departement_and_its_epcis(client):
    response = client.get("/carte/fond.json", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    assert "max-age=86400" in response.headers["Cache-Control"]
    import gzip as _gzip
    import json as _json

    base = _json.loads(_gzip.decompress(response.get_data()))
    names = {f["properties"]["nom"] for f in base["features"]}
    assert "Aisne" in names and len(base["features"]) > 15
    assert len(response.get_data()) < 60_000  # compressed
    again = client.get("/carte/fond.json", headers={"If-None-Match": response.headers["ETag"].strip('"')})
    assert again.status_code == 304
