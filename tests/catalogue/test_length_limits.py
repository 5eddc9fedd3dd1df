"""Length limits of the free-text fields: the same schemas (catalogue.schemas) refuse
an over-long field in the back-office form and the API (an import: tests/importers/test_length_limits.py), naming the field
and the limit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalogue import tokens
from catalogue.models import Service
from catalogue.schemas import TEXT_LIMITS, ServiceInput, StructureInput, text_limit_errors
from tests.auth_helpers import add_member, csrf_token, log_in_as, make_user

API_BODY = {
    "nom": "Atelier CV et lettre de motivation",
    "description": "Un atelier collectif pour écrire son CV et sa lettre de motivation.",
    "thematiques": ["preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation"],
    "publics": ["tous-publics"],
    "modes_accueil": ["en-presentiel"],
    "code_insee": "02408",
    "zone_eligibilite": ["02"],
    "frais": "gratuit",
}


def test_every_free_text_field_of_the_schemas_has_a_limit():
    from marshmallow import fields, validate

    coded = {"type", "frais"}  # one code of the vocabulary
    for schema in (ServiceInput(), StructureInput()):
        for name, field in schema.fields.items():
            if type(field) not in (fields.String, fields.Url, fields.Email) or name in coded:
                continue
            if any(isinstance(v, validate.Regexp) for v in field.validators):
                continue  # a code: its pattern bounds it
            assert any(getattr(v, "limit", None) for v in field.validators), name
    assert TEXT_LIMITS["nom"] == 150


@pytest.mark.parametrize("name", sorted(TEXT_LIMITS))
def test_the_limit_itself_is_allowed(name):
    limit = TEXT_LIMITS[name]
    assert text_limit_errors({name: "x" * limit}) == {}
    assert text_limit_errors({name: "x" * (limit + 1)})[name][0].startswith(f"{limit:,}".replace(",", "\u202f"))


def test_api_refuses_an_over_long_field_by_name(client, db, factories):
    structure = factories.StructureFactory()
    _, plain = tokens.create_token(db, structure.id, scopes=("read", "write"), name="test")
    url = f"/api/v1/structures/{structure.id}/services/atelier-cv-1"
    body = {**API_BODY, "conditions_acces": "x" * 900_000}
    r = client.put(url, json=body, headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code in (400, 422), r.status_code
    assert r.json["errors"]["conditions_acces"] == ["2\u202f000 caractères au plus (900\u202f000 reçus)"]
    r = client.put(url, json={**API_BODY, "nom": "x" * 151}, headers={"Authorization": f"Bearer {plain}"})
    assert r.json["errors"]["nom"] == ["150 caractères au plus (151 reçus)"]
    assert db.scalar(select(Service.id).where(Service.source_id == "atelier-cv-1")) is None
    r = client.put(url, json={**API_BODY, "conditions_acces": "x" * 2000}, headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code == 201


def test_form_refuses_a_two_megabyte_description(client, db, factories):
    structure = factories.StructureFactory()
    user = make_user(db, email="membre@example.org")
    add_member(db, user, structure)
    log_in_as(client, user)
    form = {"nom": "Atelier numérique", "description": "x" * 2_000_000,
            "mobilisation_precisions": "y" * 2_001, "thematiques": "numerique--acceder-a-du-materiel",
            "csrf_token": csrf_token(client), "action": "publier"}
    r = client.post(f"/espace/structures/{structure.id}/services/nouveau", data=form)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "Description : 10\u202f000 caractères au plus (2\u202f000\u202f000 reçus)" in page
    assert "2\u202f000 caractères au plus (2\u202f001 reçus)" in page
    assert db.scalar(select(Service.id).where(Service.nom == "Atelier numérique")) is None
