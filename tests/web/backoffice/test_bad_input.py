"""Bad input in the offer form: a 400 with a French message naming the field and
the reason, never a 500, and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from catalogue.models import Service
from tests.web.backoffice.conftest import log_in, post, text_of

BASE = {"nom": "Offre correcte", "thematiques": ["mobilite--preparer-un-permis"], "commune": "Laon",
        "frequence_maj_jours": "180", "action": "publier"}

CASES = [
    ({"thematiques": ["inconnue--pas-du-tout"]}, "Thématiques : thématique inconnue : inconnue--pas-du-tout"),
    ({"type": "pizza"}, "Type d&#39;offre : type de service inconnu : pizza"),
    ({"frais": "hors-de-prix"}, "Frais : frais inconnu : hors-de-prix"),
    ({"publics": ["tous-publics", "jeunes"]}, "Publics : « tous-publics » ne peut pas être combiné"),
    ({"zone": "99999"}, "Zone d&#39;éligibilité : commune inconnu(e) : 99999"),
    ({"zone": "12345678"}, "Zone d&#39;éligibilité : code de zone non reconnu"),
    ({"frequence_maj_jours": "abc"}, "Fréquence de mise à jour : nombre entier attendu"),
    ({"frequence_maj_jours": "3"}, "Fréquence de mise à jour (jours) : entre 7 et 730 jours"),
    ({"volume_horaire_hebdomadaire": "-2"}, "Volume horaire hebdomadaire : doit être positif"),
    ({"latitude": "abc", "longitude": "3.6"}, "Latitude : latitude et longitude : nombres décimaux attendus"),
    ({"latitude": "49.5"}, "longitude et latitude vont ensemble"),
    ({"nom": "x" * 151}, "Nom : 150 caractères au plus (151 reçus)"),
    ({"nom": ""}, "Nom : ne peut pas être vide"),
    ({"commune": "Nulle-Part-Sur-Mer"}, "Commune : commune introuvable"),
    ({"commune": "Saint-Martin"}, "Commune : plusieurs communes possibles"),
    ({"horaires-1-debut": "Fr", "horaires-1-fin": "Mo", "horaires-1-heures": "09:00-12:00"}, "ligne 1 : le dernier jour vient avant le premier"),
    ({"horaires-1-debut": "Mo", "horaires-1-heures": "12:00-09:00"}, "ligne 1 : la plage 12:00-09:00 finit avant de commencer"),
    ({"horaires-1-heures": "09:00-12:00"}, "ligne 1 : choisissez le premier jour"),
    ({"lien_mobilisation": "pas une adresse"}, "Lien de mobilisation : adresse web invalide"),
    ({"courriel": "a@"}, "Courriel : adresse électronique invalide"),
    ({"telephone": "0" * 60}, "Téléphone : 50 caractères au plus (60 reçus)"),
    ({"conditions_acces": "x" * 2001}, "Conditions d&#39;accès : 2\u202f000 caractères au plus (2\u202f001 reçus)"),
]


@pytest.mark.parametrize(("change", "message"), CASES, ids=[m[:40] for _, m in CASES])
def test_bad_input_is_named_and_refused(client, db, world, change, message):
    log_in(client, world["users"]["membre_b"])
    before = db.scalar(select(func.count()).select_from(Service))
    r = post(client, f"/espace/structures/{world['b'].id}/services/nouveau", {**BASE, **change})
    assert r.status_code == 400, text_of(r)[:1500]
    assert message in text_of(r), text_of(r)[text_of(r).find("form-errors"):][:800]
    assert db.scalar(select(func.count()).select_from(Service)) == before


@pytest.mark.parametrize("url", ["/espace/services/pas-un-uuid/modifier", "/espace/structures/123/services/nouveau",
                                 "/espace/services/00000000-0000-0000-0000-000000000000/apercu"])
def test_unknown_ids_are_404(client, world, url):
    log_in(client, world["users"]["administrateur"])
    assert client.get(url).status_code == 404


def test_unknown_moderation_decision_is_explained(client, db, world):
    from catalogue.accounts import ModerationItem

    item = ModerationItem(kind="nouvelle_offre", service_id=world["b_pub"].id, structure_id=world["b"].id)
    db.add(item)
    db.commit()
    log_in(client, world["users"]["moderateur"])
    r = post(client, f"/espace/moderation/elements/{item.id}", {"decision": "supprimer"}, follow_redirects=True)
    assert "Décision : décision impossible pour cet élément : supprimer" in text_of(r)
    assert post(client, "/espace/moderation/elements/999999", {"decision": "classer"}).status_code == 404
