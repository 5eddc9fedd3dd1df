"""Editing an offer: create (draft, publish), edit, hours editor, zone and commune
by name, point, preview, duplicate, archive, restore, take-over of imported offers."""

from __future__ import annotations

from sqlalchemy import select, text

from catalogue.accounts import ModerationItem, TakenOverField
from catalogue.models import LocationPrecision, Service, Status
from tests.web.backoffice.conftest import log_in, post, text_of

FORM = {
    "nom": "Atelier CV et lettre de motivation",
    "description": "Un atelier collectif\npour rédiger son CV.",
    "type": "atelier",
    "thematiques": ["preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation", "numerique--acceder-a-des-services-en-ligne"],
    "publics": ["demandeurs-emploi"],
    "frais": "gratuit",
    "zone": "Laon\nAisne (02)",
    "commune": "Laon",
    "adresse": "12 rue de la Paix",
    "modes_accueil": ["en-presentiel"],
    "modes_mobilisation": ["telephoner"],
    "mobilisable_par": ["professionnels"],
    "telephone": "03 23 00 00 00",
    "courriel": "atelier@example.org",
    "horaires-1-debut": "Mo",
    "horaires-1-fin": "Fr",
    "horaires-1-heures": "9h-12h, 14:00-17:00",
    "horaires-2-debut": "Sa",
    "horaires-2-heures": "fermé",
    "frequence_maj_jours": "90",
    "volume_horaire_hebdomadaire": "3,5",
    "nombre_semaines": "12",
}


def _new_url(world):
    return f"/espace/structures/{world['b'].id}/services/nouveau"


def _only_new(db, world, name=FORM["nom"]):
    return db.scalars(select(Service).where(Service.structure_id == world["b"].id, Service.nom == name)).one()


def test_vocabulary_is_valid():
    from catalogue import vocabulary

    for t in FORM["thematiques"]:
        assert t in vocabulary.thematiques()
    assert FORM["type"] in vocabulary.types()
    assert "demandeurs-emploi" in vocabulary.publics()


def test_create_as_draft_then_publish(client, db, world):
    log_in(client, world["users"]["membre_b"])
    page = text_of(client.get(_new_url(world)))
    assert 'name="csrf_token"' in page and "Logement" in page  # SPIE groups
    r = post(client, _new_url(world), {**FORM, "action": "brouillon"})
    assert r.status_code == 302, text_of(r)[:3000]
    s = _only_new(db, world)
    assert s.status == Status.BROUILLON and s.source == "local"
    assert s.horaires_accueil == "Mo-Fr 09:00-12:00,14:00-17:00; Sa off"
    assert s.zone_eligibilite == ["02408", "02"]
    assert (s.code_insee, s.commune) == ("02408", "Laon")
    assert s.volume_horaire_hebdomadaire == 3.5 and s.nombre_semaines == 12 and s.frequence_maj_jours == 90
    assert s.location is not None and s.location_precision == LocationPrecision.COMMUNE
    # A draft is not public.
    assert client.get(f"/services/{s.id}").status_code == 404
    # The edit form shows it back: hours as rows, zone and commune in words.
    page = text_of(client.get(f"/espace/services/{s.id}/modifier"))
    assert 'value="09:00-12:00, 14:00-17:00"' in page
    assert "Laon (02408)" in page and "Aisne (02)" in page
    r = post(client, f"/espace/services/{s.id}/publier")
    assert r.status_code == 302
    db.expire_all()
    assert db.get(Service, s.id).status == Status.PUBLIE
    assert client.get(f"/services/{s.id}").status_code == 200
    # New offer: queued for review after publication.
    items = db.scalars(select(ModerationItem).where(ModerationItem.service_id == s.id)).all()
    assert [i.kind for i in items] == ["nouvelle_offre"]


def test_errors_name_the_field_in_french_and_keep_the_input(client, db, world):
    log_in(client, world["users"]["membre_b"])
    bad = {**FORM, "nom": "ab", "zone": "Nulle-Part-Sur-Mer", "courriel": "pas-un-courriel",
           "horaires-1-heures": "9h à midi", "nombre_semaines": "douze", "action": "publier"}
    r = post(client, _new_url(world), bad)
    assert r.status_code == 400
    page = text_of(r)
    assert "Nulle-Part-Sur-Mer" in page and "introuvable" in page
    assert "Horaires d&#39;accueil : ligne 1 : plage horaire illisible" in page
    assert "Nombre de semaines : nombre entier attendu" in page
    r = post(client, _new_url(world), {**FORM, "nom": "ab", "courriel": "pas-un-courriel", "action": "publier"})
    assert r.status_code == 400
    page = text_of(r)
    assert "Nom : 3 caractères au moins" in page
    assert "Courriel : adresse électronique invalide" in page
    assert 'value="pas-un-courriel"' in page
    assert db.scalar(select(Service.id).where(Service.nom == "ab")) is None


def test_expert_hours_field_wins_when_changed_and_is_validated(client, db, world):
    log_in(client, world["users"]["membre_b"])
    r = post(client, _new_url(world), {**FORM, "horaires_brut": "Mo-Fr 25:00-26:00", "horaires_origine": ""})
    assert r.status_code == 400 and "horaires au format OpenStreetMap invalides" in text_of(r)
    r = post(client, _new_url(world), {**FORM, "horaires_brut": "Mo,We 08:30-12:00; PH off", "horaires_origine": ""})
    assert r.status_code == 302
    assert _only_new(db, world).horaires_accueil == "Mo,We 08:30-12:00; PH off"


def test_point_moved_by_hand_is_kept_unmoved_point_is_not_resent(client, db, world):
    log_in(client, world["users"]["membre_b"])
    r = post(client, _new_url(world), {**FORM, "latitude": "49.5700", "longitude": "3.6200"})
    assert r.status_code == 302
    s = _only_new(db, world)
    assert s.location_precision == LocationPrecision.SOURCE
    lon, lat = db.execute(text("SELECT ST_X(location::geometry), ST_Y(location::geometry) FROM service WHERE id = :i"), {"i": s.id}).one()
    assert (round(lon, 4), round(lat, 4)) == (3.62, 49.57)
    r = post(client, _new_url(world), {**FORM, "nom": "Hors de France", "latitude": "10", "longitude": "10"})
    assert r.status_code == 400 and "hors de France" in text_of(r)


def test_edit_published_offer_confirms_it(client, db, world):
    log_in(client, world["users"]["membre_b"])
    s = world["b_pub"]
    values = {**FORM, "nom": "Offre publiée de B, modifiée", "action": "enregistrer"}
    r = post(client, f"/espace/services/{s.id}/modifier", values)
    assert r.status_code == 302, text_of(r)[:2000]
    db.expire_all()
    s = db.get(Service, s.id)
    assert s.nom == "Offre publiée de B, modifiée" and s.status == Status.PUBLIE and s.confirmed_at is not None
    # Not imported (factory source "test" counts as imported): fields taken over.
    taken = set(db.scalars(select(TakenOverField.field).where(TakenOverField.service_id == s.id)))
    assert {"nom", "horaires_accueil", "telephone"} <= taken


def test_imported_offer_shows_its_source_and_taken_over_fields(client, db, world):
    log_in(client, world["users"]["membre_b"])
    s = world["b_pub"]
    page = text_of(client.get(f"/espace/services/{s.id}/modifier"))
    assert "Offre importée" in page and "source : test" in page
    post(client, f"/espace/services/{s.id}/modifier", {**FORM, "action": "enregistrer"})
    page = text_of(client.get(f"/espace/services/{s.id}/modifier"))
    assert "Champs déjà repris par votre structure" in page and "Téléphone" in page


def test_preview_of_a_draft(client, db, world):
    log_in(client, world["users"]["membre_b"])
    page = text_of(client.get(f"/espace/services/{world['b_draft'].id}/apercu"))
    assert "Aperçu" in page and "Brouillon secret de B" in page and "Brouillon" in page


def test_duplicate_archive_restore(client, db, world):
    log_in(client, world["users"]["membre_b"])
    s = world["b_pub"]
    r = post(client, f"/espace/services/{s.id}/dupliquer")
    assert r.status_code == 302
    copy = db.scalars(select(Service).where(Service.nom == f"Copie de {s.nom}")).one()
    assert copy.status == Status.BROUILLON and copy.thematiques == s.thematiques and copy.source == "local"
    assert r.headers["Location"].endswith(f"/espace/services/{copy.id}/modifier")
    r = post(client, f"/espace/services/{s.id}/archiver")
    assert r.status_code == 302
    db.expire_all()
    assert db.get(Service, s.id).status == Status.ARCHIVE
    assert client.get(f"/services/{s.id}").status_code == 404
    page = text_of(client.get(f"/espace/structures/{world['b'].id}"))
    assert "Offres archivées (1)" in page
    r = post(client, f"/espace/services/{s.id}/restaurer")
    db.expire_all()
    assert db.get(Service, s.id).status == Status.BROUILLON
    assert db.get(Service, s.id) is not None  # nothing deleted


def test_moderation_before_publish_setting(app, client, db, world):
    settings = app.extensions["offre"]["settings"]
    app.extensions["offre"]["settings"] = settings.replace(moderation_before_publish=True)
    log_in(client, world["users"]["membre_b"])
    r = post(client, _new_url(world), {**FORM, "action": "publier"})
    assert r.status_code == 302
    s = _only_new(db, world)
    assert s.status == Status.BROUILLON
    page = text_of(client.get(f"/espace/structures/{world['b'].id}"))
    assert "en attente de modération" in page
    # The moderator publishes it.
    log_in(client, world["users"]["moderateur"])
    item = db.scalars(select(ModerationItem).where(ModerationItem.service_id == s.id)).one()
    r = post(client, f"/espace/moderation/elements/{item.id}", {"decision": "publier"})
    assert r.status_code == 302
    db.expire_all()
    assert db.get(Service, s.id).status == Status.PUBLIE


def test_dashboard_lists_drafts_published_and_members_link(client, world):
    log_in(client, world["users"]["membre_b"])
    page = text_of(client.get(f"/espace/structures/{world['b'].id}"))
    assert "Brouillon secret de B" in page and "Offre publiée de B" in page
    assert f"/espace/structures/{world['b'].id}/membres" in page
    assert "Offre publiée de A" not in page


def test_espace_home_links_to_the_dashboard(client, world):
    log_in(client, world["users"]["membre_b"])
    page = text_of(client.get("/espace"))
    assert f"/espace/structures/{world['b'].id}" in page and "Tableau de bord des offres" in page
