"""Moderation queue (new offers, public error reports, importers' duplicates;
every decision logged) and the readable history of an offer."""

from __future__ import annotations

from sqlalchemy import select

from catalogue.accounts import ModerationDecision, ModerationItem
from catalogue.db import set_actor
from catalogue.models import ErrorReport, Service, Status
from tests.auth_helpers import csrf_token
from tests.web.backoffice.conftest import log_in, post, text_of


def _report(client, service, message="Le téléphone a changé depuis septembre."):
    return client.post(f"/services/{service.id}/signaler",
                       data={"csrf_token": csrf_token(client), "message": message})


def test_public_error_report_reaches_the_queue_and_is_handled(app, client, db, world, smtp):
    s = world["b_pub"]
    assert _report(client, s).status_code == 302
    item = db.scalars(select(ModerationItem).where(ModerationItem.service_id == s.id)).one()
    assert item.kind == "signalement" and item.error_report_id is not None
    log_in(client, world["users"]["moderateur"])
    page = text_of(client.get("/espace/moderation"))
    assert "Signalement d&#39;une erreur" in page and "Le téléphone a changé" in page
    r = post(client, f"/espace/moderation/elements/{item.id}", {"decision": "classer", "commentaire": "Corrigé par téléphone."})
    assert r.status_code == 302
    db.expire_all()
    report = db.get(ErrorReport, item.error_report_id)
    assert report.status == "traite" and report.handled_by == f"user:{world['users']['moderateur'].id}"
    [decision] = db.scalars(select(ModerationDecision).where(ModerationDecision.item_id == item.id)).all()
    assert (decision.decision, decision.comment) == ("classer", "Corrigé par téléphone.")
    page = text_of(client.get("/espace/moderation?etat=traite"))
    assert "Classer sans suite" in page and "Corrigé par téléphone." in page
    # Once decided, an item cannot be decided again.
    r = post(client, f"/espace/moderation/elements/{item.id}", {"decision": "masquer"}, follow_redirects=True)
    assert "déjà été traité" in text_of(r)
    assert db.get(Service, s.id).status == Status.PUBLIE


def test_moderator_of_another_departement_sees_nothing_and_cannot_decide(client, db, world, smtp):
    _report(client, world["b_pub"])
    item = db.scalars(select(ModerationItem)).one()
    log_in(client, world["users"]["moderateur_autre"])
    assert "Le téléphone" not in text_of(client.get("/espace/moderation"))
    r = post(client, f"/espace/moderation/elements/{item.id}", {"decision": "masquer"})
    assert r.status_code == 403
    db.expire_all()
    assert db.get(Service, world["b_pub"].id).status == Status.PUBLIE
    assert db.scalars(select(ModerationDecision)).all() == []


def test_members_cannot_reach_the_queue(client, world):
    log_in(client, world["users"]["membre_b"])
    assert client.get("/espace/moderation").status_code == 403


def test_hide_then_link_and_unlink_duplicates(client, db, world, factories):
    b = world["b"]
    original = world["b_pub"]
    dup = factories.ServiceFactory(structure=b, nom="Offre publiée de B (autre source)", source="dora",
                                   code_insee="02691", duplicate_of_id=original.id, duplicate_score=0.93)
    db.commit()
    log_in(client, world["users"]["moderateur"])
    page = text_of(client.get("/espace/moderation"))  # importers' suggestions are queued
    assert "Doublon probable" in page and "ressemblance 93 %" in page
    assert "Doublon seulement proposé : visible dans la recherche" in page
    item = db.scalars(select(ModerationItem).where(ModerationItem.service_id == dup.id)).one()
    assert item.kind == "doublon" and not dup.duplicate_hidden  # proposed, still visible
    text_of(client.get("/espace/moderation"))  # queued once only
    assert len(db.scalars(select(ModerationItem).where(ModerationItem.service_id == dup.id)).all()) == 1
    r = post(client, f"/espace/moderation/elements/{item.id}", {"decision": "delier"})
    assert r.status_code == 302
    db.expire_all()
    assert db.get(Service, dup.id).duplicate_of_id is None and not db.get(Service, dup.id).duplicate_hidden
    # Link by hand from a new offer's item, by pasting the original's address.
    new_item = ModerationItem(kind="nouvelle_offre", service_id=dup.id, structure_id=b.id)
    db.add(new_item)
    db.commit()
    r = post(client, f"/espace/moderation/elements/{new_item.id}",
             {"decision": "lier", "cible": f"http://localhost/services/{original.id}"})
    assert r.status_code == 302
    db.expire_all()
    linked = db.get(Service, dup.id)
    assert linked.duplicate_of_id == original.id and linked.duplicate_hidden  # a moderator's link hides
    hide_item = ModerationItem(kind="nouvelle_offre", service_id=dup.id, structure_id=b.id)
    db.add(hide_item)
    db.commit()
    r = post(client, f"/espace/moderation/elements/{hide_item.id}", {"decision": "lier", "cible": "pas-un-id"}, follow_redirects=True)
    assert "Offre d&#39;origine : identifiant de l&#39;offre d&#39;origine invalide" in text_of(r)
    post(client, f"/espace/moderation/elements/{hide_item.id}", {"decision": "masquer"})
    db.expire_all()
    assert db.get(Service, dup.id).status == Status.BROUILLON
    decisions = [d.decision for d in db.scalars(select(ModerationDecision).order_by(ModerationDecision.id))]
    assert decisions == ["delier", "lier", "masquer"]


def test_history_shows_who_when_and_fields_before_after_in_french(client, db, world):
    s = world["b_pub"]
    log_in(client, world["users"]["membre_b"])
    r = post(client, f"/espace/services/{s.id}/modifier", {
        "nom": "Permis pour tous", "thematiques": ["mobilite--preparer-un-permis"], "publics": ["jeunes"],
        "commune": "Saint-Quentin (02691)", "action": "enregistrer", "frequence_maj_jours": "180",
    })
    assert r.status_code == 302, text_of(r)[:2000]
    set_actor(db, "import:dora")
    db.get(Service, s.id).telephone = "03 00 00 00 00"
    db.commit()
    page = text_of(client.get(f"/espace/services/{s.id}/historique"))
    assert "Modification le" in page and "membre-b@example.org" in page
    assert "import de la source « dora »" in page
    assert "Offre publiée de B" in page and "Permis pour tous" in page  # before -> after
    assert "Publics" in page and "Jeunes" in page and "Tous publics" in page  # labels, not codes
    assert "Création" in page


def test_history_names_zone_codes_and_linked_records(client, db, world):
    s = world["b_pub"]
    set_actor(db, f"user:{world['users']['moderateur'].id}")
    s.zone_eligibilite = ["02408", "france"]
    s.duplicate_of_id = world["a_pub"].id
    db.commit()
    log_in(client, world["users"]["membre_b"])
    page = text_of(client.get(f"/espace/services/{s.id}/historique"))
    assert "Laon (02408), France entière" in page
    assert "Doublon de" in page and "Offre publiée de A" in page
    assert "Structure B" in page  # the structure's name, not its id
    assert "moderateur-02@example.org" in page


def test_structure_history_and_reports_on_the_form(client, db, world, smtp):
    set_actor(db, f"user:{world['users']['membre_b'].id}")
    world["b"].telephone = "03 11 22 33 44"
    db.commit()
    _report(client, world["b_pub"], "Le lieu a déménagé rue Neuve.")
    log_in(client, world["users"]["membre_b"])
    page = text_of(client.get(f"/espace/structures/{world['b'].id}/historique"))
    assert "Historique de la structure « Structure B »" in page and "03 11 22 33 44" in page
    page = text_of(client.get(f"/espace/services/{world['b_pub'].id}/modifier"))
    assert "Signalements reçus (1)" in page and "Le lieu a déménagé rue Neuve." in page
