"""API tokens in the back office (/espace/structures/<id>/jetons): created by the
structure's admins, moderators of its territory and administrators; shown once;
stored hashed; they work against the write API until revoked; outsiders refused
with nothing changed; CSRF required."""

from __future__ import annotations

import hashlib
import html
import json
import re

from sqlalchemy import select, text

from catalogue import tokens
from catalogue.models import Service, Status
from tests.auth_helpers import add_member, csrf_token, make_user
from tests.web.backoffice.conftest import log_in, post, text_of

PLAIN = re.compile(r"offre_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")
BODY = {
    "nom": "Atelier CV et lettre de motivation",
    "description": "Un atelier collectif pour écrire son CV et sa lettre de motivation.",
    "thematiques": ["preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation"],
    "publics": ["tous-publics"],
    "modes_accueil": ["en-presentiel"],
    "code_insee": "02408",
    "zone_eligibilite": ["02"],
    "frais": "gratuit",
}


def _url(structure, *rest) -> str:
    return "/".join([f"/espace/structures/{structure.id}/jetons", *map(str, rest)])


def _tokens(db, structure) -> list[tokens.ApiToken]:
    db.expire_all()
    return list(db.scalars(select(tokens.ApiToken).where(tokens.ApiToken.structure_id == structure.id)
                          .order_by(tokens.ApiToken.id)))


def _state(db) -> str:
    """Every token of every structure, whole."""
    rows = db.execute(text("SELECT to_jsonb(t) FROM api_token t ORDER BY id")).scalars().all()
    return json.dumps(rows, sort_keys=True, default=str)


def _tables_containing(db, secret: str) -> list[str]:
    """The tables of the database (the geographic référentiel aside) where `secret` appears."""
    names = db.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename NOT LIKE 'geo\\_%' AND tablename <> 'spatial_ref_sys'"
    )).scalars().all()
    assert "api_token" in names and "audit_log" in names
    return [n for n in names if db.execute(
        text(f'SELECT count(*) FROM "{n}" t WHERE strpos(to_jsonb(t)::text, :s) > 0'), {"s": secret}
    ).scalar()]


def _create(client, structure, name="Logiciel de suivi des ateliers", scopes=("write",), **kw):
    return post(client, _url(structure), {"name": name, "scopes": list(scopes)}, **kw)


def test_admin_creates_a_token_shown_once_that_works_until_revoked(client, db, world):
    a, admin = world["a"], world["users"]["admin_a"]
    log_in(client, admin)
    page = client.get(_url(a))
    assert page.status_code == 200
    body = text_of(page)
    assert 'name="csrf_token"' in body and "Aucun jeton pour l'instant" in body
    assert 'href="/api/v1/docs"' in body and 'name="scopes" value="read"' in body

    r = _create(client, a)
    assert r.status_code == 201, text_of(r)[:2000]
    assert r.headers["Cache-Control"] == "no-store"
    shown = PLAIN.findall(html.unescape(text_of(r)))
    assert len(set(shown)) == 1, shown
    plain = shown[0]
    assert "il ne sera plus jamais affiché" in text_of(r)

    # Stored: the sha256 and the visible prefix, never the token itself.
    (token,) = _tokens(db, a)
    assert token.secret_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain.startswith(token.prefix + "_") and token.scopes == ["write"]
    assert token.created_by == f"user:{admin.id}" and token.name == "Logiciel de suivi des ateliers"
    whole_row = db.execute(text("SELECT to_jsonb(t)::text FROM api_token t WHERE id = :i"), {"i": token.id}).scalar()
    assert plain not in whole_row and plain.split("_", 2)[2] not in whole_row
    assert _tables_containing(db, plain.split("_", 2)[2]) == []

    # The list never shows it again, only its prefix, its scopes in French, who made it.
    listed = text_of(client.get(_url(a)))
    assert plain not in listed and plain.split("_", 2)[2] not in listed
    assert f"{token.prefix}…" in listed and "écriture" in listed and admin.email in listed
    assert "jamais utilisé" in listed and "Actif" in listed

    # It works against the write API, for structure A.
    auth = {"Authorization": f"Bearer {plain}"}
    r = client.put(f"/api/v1/structures/{a.id}/services/atelier-1", json=BODY, headers=auth)
    assert r.status_code == 201, r.json
    service = db.get(Service, r.json["id"])
    assert service.structure_id == a.id and service.source == tokens.token_source(a.id)
    assert "jamais utilisé" not in text_of(client.get(_url(a)))  # last use is shown

    # Revoked: the API refuses it, the list says so and by whom.
    r = post(client, _url(a, token.id, "revoquer"))
    assert r.status_code == 303 and r.headers["Location"].endswith(_url(a) + "#jetons")
    (token,) = _tokens(db, a)
    assert token.revoked_at is not None and token.revoked_by == f"user:{admin.id}"
    r = client.put(f"/api/v1/structures/{a.id}/services/atelier-1", json={**BODY, "nom": "Changé"}, headers=auth)
    assert r.status_code == 401
    assert r.content_type == "application/problem+json"
    db.expire_all()
    assert db.get(Service, service.id).nom == BODY["nom"]
    listed = text_of(client.get(_url(a)))
    assert "Révoqué" in listed and "révoqué : l'API le refuse désormais" in html.unescape(listed)
    assert f'action="{_url(a, token.id, "revoquer")}"' not in listed  # no second revoke button

    # Revoking again changes nothing (same date, same author).
    before = _state(db)
    assert post(client, _url(a, token.id, "revoquer")).status_code == 303
    assert _state(db) == before


def test_a_read_only_token_cannot_write(client, db, world):
    a = world["a"]
    log_in(client, world["users"]["admin_a"])
    r = _create(client, a, name="Lecture seule", scopes=("read",))
    assert r.status_code == 201
    plain = PLAIN.search(html.unescape(text_of(r))).group(0)
    (token,) = _tokens(db, a)
    assert token.scopes == ["read"]
    r = client.put(f"/api/v1/structures/{a.id}/services/x", json=BODY, headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code == 403 and "write" in r.json["detail"]
    assert "lecture" in text_of(client.get(_url(a)))


def test_moderator_of_the_territory_and_administrator_may_manage(client, db, world):
    a = world["a"]
    for role in ("moderateur", "administrateur"):
        user = world["users"][role]
        log_in(client, user)
        assert client.get(_url(a)).status_code == 200
        assert _create(client, a, name=f"Jeton de {role}", scopes=("read", "write")).status_code == 201
        token = _tokens(db, a)[-1]
        assert token.created_by == f"user:{user.id}" and token.scopes == ["read", "write"]
        assert post(client, _url(a, token.id, "revoquer")).status_code == 303
        assert _tokens(db, a)[-1].revoked_by == f"user:{user.id}"


def test_outsiders_and_plain_members_are_refused_and_nothing_changes(client, db, world):
    a, b = world["a"], world["b"]
    token, _ = tokens.create_token(db, a.id, scopes=["write"], name="Jeton de A", created_by="cli")
    admin_b = make_user(db, email="admin-b@example.org")
    add_member(db, admin_b, b, "admin")
    db.commit()
    before = _state(db)

    # A member of B, a plain member of A, a moderator of another département: 403.
    for role in ("membre_b", "membre_a", "moderateur_autre", "verifie"):
        log_in(client, world["users"][role])
        r = client.get(_url(a))
        assert r.status_code == 403, role
        assert "Jeton de A" not in text_of(r) and token.prefix not in text_of(r)
        assert _create(client, a).status_code == 403, role
        assert post(client, _url(a, token.id, "revoquer")).status_code == 403, role
        assert _state(db) == before, role

    # The admin of B manages B's tokens, never A's: A's token through B's URL is 404.
    log_in(client, admin_b)
    assert client.get(_url(a)).status_code == 403
    assert "Jeton de A" not in text_of(client.get(_url(b)))
    assert post(client, _url(b, token.id, "revoquer")).status_code == 404
    assert post(client, _url(b, 999999, "revoquer")).status_code == 404
    assert _state(db) == before
    assert _tokens(db, a)[0].active

    # Anonymous visitors are sent to log in; an unknown structure is 404.
    with client.session_transaction() as s:
        s.clear()
    r = client.get(_url(a))
    assert r.status_code == 302 and "/connexion" in r.headers["Location"]
    r = client.post(_url(a), data={"csrf_token": csrf_token(client), "name": "x", "scopes": ["write"]})
    assert r.status_code == 302 and "/connexion" in r.headers["Location"]
    log_in(client, world["users"]["administrateur"])
    assert client.get("/espace/structures/00000000-0000-0000-0000-000000000000/jetons").status_code == 404
    assert client.get("/espace/structures/pas-un-uuid/jetons").status_code == 404
    assert _state(db) == before


def test_forms_without_csrf_are_refused(client, db, world):
    a = world["a"]
    token, _ = tokens.create_token(db, a.id, scopes=["write"], name="Jeton de A")
    db.commit()
    before = _state(db)
    log_in(client, world["users"]["admin_a"])
    csrf_token(client)  # the session has a token; the forms below do not send it
    r = client.post(_url(a), data={"name": "Sans CSRF", "scopes": ["write"]})
    assert r.status_code == 400 and "CSRF" in text_of(r)
    r = client.post(_url(a, token.id, "revoquer"))
    assert r.status_code == 400
    r = client.post(_url(a, token.id, "revoquer"), data={"csrf_token": "faux"})
    assert r.status_code == 400
    assert _state(db) == before
    page = text_of(client.get(_url(a)))
    assert page.count('name="csrf_token"') == 2  # the create form and the revoke button


def test_bad_input_gets_a_french_message_naming_the_field(client, db, world):
    a = world["a"]
    log_in(client, world["users"]["admin_a"])
    cases = [
        ({"name": "", "scopes": ["write"]}, "Nom du jeton : indiquez"),
        ({"name": "x" * 101, "scopes": ["write"]}, "Nom du jeton : 100 caractères au plus"),
        ({"name": "Logiciel"}, "Portées : cochez au moins une portée"),
        ({"name": "Logiciel", "scopes": ["admin"]}, "Portées : « admin » n&#39;existe pas"),
    ]
    for data, message in cases:
        r = post(client, _url(a), data)
        assert r.status_code == 400, data
        assert message in text_of(r), (data, text_of(r)[:3000])
        assert 'aria-invalid="true"' in text_of(r)
        assert not PLAIN.search(text_of(r))
    assert _tokens(db, a) == []
    # What was typed is kept.
    assert 'value="Logiciel"' in text_of(post(client, _url(a), {"name": "Logiciel"}))


def test_no_token_for_an_archived_structure(client, db, world):
    a = world["a"]
    a.status = Status.ARCHIVE
    db.commit()
    log_in(client, world["users"]["admin_a"])
    assert "aucun jeton ne peut être créé" in text_of(client.get(_url(a)))
    r = _create(client, a)
    assert r.status_code == 400 and "archivée" in text_of(r)
    assert _tokens(db, a) == []


def test_the_page_is_linked_for_those_who_may_manage(client, db, world):
    a = world["a"]
    link = f'href="{_url(a)}"'
    log_in(client, world["users"]["admin_a"])
    assert link in text_of(client.get(f"/espace/structures/{a.id}"))
    assert link in text_of(client.get("/espace"))
    log_in(client, world["users"]["membre_a"])
    assert link not in text_of(client.get(f"/espace/structures/{a.id}"))
    assert link not in text_of(client.get("/espace"))


def test_a_token_number_out_of_range_is_404(client, db, world):
    log_in(client, world["users"]["admin_a"])
    assert post(client, _url(world["a"], 10**12, "revoquer")).status_code == 404
