"""Every free-text field shown on the public pages and the back-office pages, tried
with script injection: rendered inert (escaped text), never as markup. URL fields
refuse `javascript:` links."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from catalogue.accounts import ModerationItem
from catalogue.models import ErrorReport, Service
from tests.auth_helpers import csrf_token
from tests.web.backoffice.conftest import log_in, post, text_of

PAYLOADS = [
    '<script>alert("xss")</script>',
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(2)' x='",
]
SERVICE_TEXTS = [
    "nom", "description", "frais_precisions", "publics_precisions", "conditions_acces",
    "contact_nom_prenom", "telephone", "mobilisation_precisions", "adresse", "complement_adresse", "commune",
]
STRUCTURE_TEXTS = ["nom", "description", "adresse", "complement_adresse", "telephone", "commune"]
# What must never appear unescaped in a page.
LIVE = re.compile(r"<script>alert|<img src=x onerror|onmouseover='alert", re.IGNORECASE)


def _value(payload: str, name: str) -> str:
    return f"{name} {payload}"


def _pages(world, service):
    sid, b = service.id, world["b"].id
    public = [f"/services/{sid}", f"/structures/{b}", "/recherche?q=alert", f"/carte/offres/{sid}.json",
              "/recherche?q=xss"]
    office = [f"/espace/structures/{b}", f"/espace/services/{sid}/modifier", f"/espace/services/{sid}/apercu",
              f"/espace/services/{sid}/historique", "/espace/moderation", "/espace/moderation?etat=traite",
              "/espace/moderation/offres-a-verifier"]
    return public, office


@pytest.mark.parametrize("payload", PAYLOADS)
def test_free_text_is_inert_everywhere(client, db, world, payload, smtp):
    service = world["b_pub"]
    for name in SERVICE_TEXTS:
        setattr(service, name, _value(payload, name)[:150] if name == "nom" else _value(payload, name))
    structure = world["b"]
    for name in STRUCTURE_TEXTS:
        setattr(structure, name, _value(payload, "structure-" + name))
    service.horaires_accueil = "Mo-Fr 09:00-12:00"
    db.commit()
    # A public error report with the payload, and a decision comment.
    r = client.post(f"/services/{service.id}/signaler",
                    data={"csrf_token": csrf_token(client), "message": _value(payload, "signalement")})
    assert r.status_code == 302
    public, office = _pages(world, service)
    for url in public:
        response = client.get(url)
        assert response.status_code == 200, url
        body = text_of(response)
        if url.endswith(".json"):
            # Data, not a page: served as JSON, and the map's script escapes every
            # field before it builds the popup (checked below).
            assert response.mimetype == "application/json", url
            assert payload in response.get_json()["nom"]
            continue
        assert not LIVE.search(body), f"{url} : injection rendue active"
    body = text_of(client.get(f"/services/{service.id}"))
    assert "&lt;script&gt;" in body or "&#34;&gt;&lt;img" in body or "&#39; onmouseover" in body
    log_in(client, world["users"]["moderateur"])
    item = db.scalars(select(ModerationItem).where(ModerationItem.kind == "signalement")).first()
    post(client, f"/espace/moderation/elements/{item.id}", {"decision": "classer", "commentaire": _value(payload, "commentaire")})
    for url in office:
        response = client.get(url)
        assert response.status_code == 200, url
        body = text_of(response)
        assert not LIVE.search(body), f"{url} : injection rendue active"
    assert "commentaire" in text_of(client.get("/espace/moderation?etat=traite"))
    assert db.scalar(select(ErrorReport.message)).startswith("signalement")


def test_injection_through_the_form_is_stored_as_text_and_shown_inert(client, db, world):
    log_in(client, world["users"]["membre_b"])
    payload = PAYLOADS[1]
    data = {
        "nom": "Atelier " + payload, "description": payload, "contact_nom_prenom": payload,
        "conditions_acces": payload, "publics_precisions": payload, "frais_precisions": payload,
        "mobilisation_precisions": payload, "adresse": payload, "telephone": "03 23 " + payload[:20],
        "thematiques": ["mobilite--preparer-un-permis"], "commune": "Laon", "frequence_maj_jours": "180",
        "action": "publier",
    }
    r = post(client, f"/espace/structures/{world['b'].id}/services/nouveau", data)
    assert r.status_code == 302, text_of(r)[:2000]
    service = db.scalars(select(Service).where(Service.nom == "Atelier " + payload)).one()
    assert service.description == payload  # stored as typed, escaped when shown
    for url in (f"/services/{service.id}", f"/espace/services/{service.id}/modifier",
                f"/espace/services/{service.id}/apercu", f"/espace/services/{service.id}/historique",
                f"/espace/structures/{world['b'].id}", "/recherche?q=atelier"):
        body = text_of(client.get(url))
        assert not LIVE.search(body), url
        assert "&lt;img src=x onerror=alert(1)&gt;" in body or url.startswith("/recherche"), url


@pytest.mark.parametrize("field", ["lien_mobilisation", "lien_source"])
def test_javascript_links_are_refused(client, db, world, field):
    log_in(client, world["users"]["membre_b"])
    r = post(client, f"/espace/services/{world['b_pub'].id}/modifier", {
        "nom": "Offre publiée de B", "thematiques": ["mobilite--preparer-un-permis"], "commune": "Laon",
        field: "javascript:alert(1)", "action": "enregistrer", "frequence_maj_jours": "180",
    })
    assert r.status_code == 400
    assert "adresse web invalide" in text_of(r)
    db.expire_all()
    assert getattr(db.get(Service, world["b_pub"].id), field) is None


def test_map_popup_script_escapes_every_field():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[3] / "web/static/js/offre-map.js").read_text()
    popup = script[script.index("function popupHtml("):script.index("return html;", script.index("function popupHtml("))]
    assert "setPopupContent(popupHtml(" in script
    for field in ("o.url", "o.nom", "o.structure", "o.commune", "o.thematiques", "T.meme_lieu", "m.url", "m.nom"):
        assert f"escapeHtml({field}" in popup, field
    assert "innerHTML" not in script
