"""The OpenAPI spec describes every endpoint of /api/v1 and says exactly what the
API accepts; schemathesis finds no 5xx and no response that breaks its schema on
any GET endpoint, over more than a thousand generated requests (one test, so that
xdist never splits the count); unknown methods answer 405 with Allow."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
)

from catalogue import tokens
from catalogue.db import make_engine, make_sessionmaker, transaction
from catalogue.models import Structure
from catalogue.schemas import FRANCE_BOXES
from web.api.partners import PARTNER_ID
from web.app import create_app
from web.settings import Settings

# Operations whose parameters have meaning the spec cannot express (a commune code
# must exist in the référentiel): schema-valid requests may be refused with a 400
# problem naming the parameter, so schemathesis's "valid data is accepted" check is off
# for them; every other check (no 5xx, status, content type, schema) still runs.
SEMANTIC_PARAMETERS = {"/api/v1/services/search"}
EXAMPLES_PER_OPERATION = 160
# The export pages hold up to 1,000 records, each checked against the response
# schema: fewer requests there keep the whole run near 20 s on an idle machine.
EXAMPLES = {"/api/v1/export/data-inclusion/services": 40, "/api/v1/export/data-inclusion/structures": 60}

# Served by flask-smorest itself: the spec and its documentation page.
NOT_IN_SPEC = {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/docs/<path:filename>"}


def _spec_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _app():
    return create_app(Settings(database_url="", secret_key="t", offre_env="test"))


def _spec() -> dict:
    return _app().test_client().get("/api/v1/openapi.json").json


def test_every_api_url_rule_is_in_the_spec():
    app = _app()
    spec = app.test_client().get("/api/v1/openapi.json").json
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule in NOT_IN_SPEC:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (_spec_path(rule.rule), method) not in documented:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"absent de la spécification OpenAPI : {missing}"
    assert len(documented) >= 12


def test_docs_page_is_served_from_our_static_files():
    html = _app().test_client().get("/api/v1/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "CONNECT", "PROPFIND"])
@pytest.mark.parametrize("path", ["/api/v1/thematiques", "/api/v1/services/search", "/api/v1/openapi.json", "/",
                                  "/connexion", "/static/css/site.css"])
def test_unknown_methods_answer_405_with_allow(method, path):
    response = _app().test_client().open(path, method=method)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert "GET" in allowed and method not in allowed
    if path.startswith("/api/"):
        assert response.content_type == "application/problem+json"
        assert response.json["status"] == 405 and method in response.json["detail"]


# ---------------------------------------------------------------- spec and validation agree


def _body_schema(spec: dict, method: str) -> dict:
    path = spec["paths"]["/api/v1/structures/{structure_id}/services/{partner_id}"]
    ref = path[method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def test_the_spec_states_the_partner_id_pattern_unknown_fields_and_the_france_boxes():
    spec = _spec()
    params = spec["paths"]["/api/v1/structures/{structure_id}/services/{partner_id}"]["parameters"]
    partner_id = next(p for p in params if p["name"] == "partner_id")
    assert partner_id["schema"]["pattern"] == PARTNER_ID.pattern
    for method in ("put",):
        body = _body_schema(spec, method)
        assert body["additionalProperties"] is False
        assert body["properties"]["partner_id"]["pattern"] == PARTNER_ID.pattern
        boxes = [(b["properties"]["longitude"]["minimum"], b["properties"]["latitude"]["minimum"],
                  b["properties"]["longitude"]["maximum"], b["properties"]["latitude"]["maximum"])
                 for b in body["anyOf"] if "required" in b]
        assert boxes == FRANCE_BOXES


@pytest.fixture
def write_token(db, factories):
    structure = factories.StructureFactory()
    _, plain = tokens.create_token(db, structure.id, scopes=["read", "write"], name="test")
    db.commit()
    return structure, {"Authorization": f"Bearer {plain}"}


BODY = {
    "nom": "Atelier CV", "description": "Un atelier pour écrire son CV.",
    "thematiques": ["preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation"],
    "publics": ["tous-publics"], "code_insee": "02408",
}


@pytest.mark.parametrize(("lon", "lat"), [(box[0], box[1]) for box in FRANCE_BOXES] + [(box[2], box[3]) for box in FRANCE_BOXES])
def test_a_point_in_any_box_of_the_spec_is_accepted(client, write_token, lon, lat):
    structure, headers = write_token
    r = client.put(f"/api/v1/structures/{structure.id}/services/cv-1", json={**BODY, "longitude": lon, "latitude": lat},
                   headers=headers)
    assert r.status_code == 201, r.json


@pytest.mark.parametrize(("lon", "lat"), [(0.0, 0.0), (-5.6, 45.0), (9.9, 45.0), (3.0, 51.3), (30.0, -15.0)])
def test_a_point_outside_the_boxes_of_the_spec_is_refused(client, write_token, lon, lat):
    structure, headers = write_token
    r = client.put(f"/api/v1/structures/{structure.id}/services/cv-1", json={**BODY, "longitude": lon, "latitude": lat},
                   headers=headers)
    assert r.status_code == 400 and "hors de France" in r.json["detail"]


def test_partner_ids_of_the_pattern_are_accepted_and_others_refused(client, write_token):
    structure, headers = write_token
    for partner_id in ("a", "A.b_c:d~e-f", "x" * 200):
        assert PARTNER_ID.match(partner_id)
        r = client.put(f"/api/v1/structures/{structure.id}/services/{partner_id}", json=BODY, headers=headers)
        assert r.status_code == 201, (partner_id, r.json)
    for partner_id in ("x" * 201, "é", "a b", "a%2Cb"):
        r = client.put(f"/api/v1/structures/{structure.id}/services/{partner_id}", json=BODY, headers=headers)
        assert r.status_code == 400 and "partner_id" in r.json["errors"], partner_id
    r = client.post(f"/api/v1/structures/{structure.id}/services", json={**BODY, "partner_id": "bad id"}, headers=headers)
    assert r.status_code == 400 and "partner_id" in r.json["errors"]


def test_unknown_fields_are_refused_as_the_spec_says(client, write_token):
    structure, headers = write_token
    r = client.put(f"/api/v1/structures/{structure.id}/services/cv-1", json={**BODY, "couleur": "bleu"}, headers=headers)
    assert r.status_code == 400 and r.json["errors"] == {"couleur": ["champ inconnu"]}


# ---------------------------------------------------------------- schemathesis


@pytest.fixture(scope="module")
def api_schema(demo_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", demo_app)


def _get_operations(spec: dict) -> list[str]:
    return sorted(path for path, item in spec["paths"].items() if "get" in item and "{partner_id}" not in path)


def _is_uuid(value) -> bool:
    """A UUID as the spec's `format: uuid` reads one (hyphenated, 36 characters):
    Python also parses 32 hex digits, braces or `urn:uuid:`, which a negative case
    may generate as the invalid part (replacing it would make the case valid)."""
    text_ = str(value)
    try:
        uuid.UUID(text_)
    except ValueError:
        return False
    return len(text_) == 36 and all(text_[i] == "-" for i in (8, 13, 18, 23))


def _still_invalid(case) -> bool:
    """Whether a negative case is still invalid once the real structure's id and token
    replaced the generated ones: an invalid part elsewhere than the path and headers,
    or an invalid partner id as the server reads it (a generated `%3A` is sent as is
    and read `:`, a valid character), or a structure id left as generated."""
    invalid = {loc for loc, info in case.meta.components.items() if info.mode.is_negative}
    if invalid - {ParameterLocation.PATH, ParameterLocation.HEADER}:
        return True
    path = case.path_parameters or {}
    partner = path.get("partner_id")
    return ParameterLocation.PATH in invalid and (
        (partner is not None and not PARTNER_ID.match(unquote(str(partner))))
        or not _is_uuid(path.get("structure_id")))


def _generate(operation, excluded: list, token: str | None, structure_id, examples: int) -> int:
    """Run the generated requests of one operation; how many were sent."""
    calls: list[int] = []
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)
    def run(case):
        calls.append(1)
        if token:
            # The real structure replaces a generated one, unless the generated id is the
            # invalid part of a negative case: replacing it would make the case valid, and
            # « invalid data accepted » would be reported for a valid request.
            generated = (case.path_parameters or {}).get("structure_id")
            if not (case.meta.generation.mode.is_negative and not _is_uuid(generated)):
                case.path_parameters = {**(case.path_parameters or {}), "structure_id": str(structure_id)}
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            if case.meta.generation.mode.is_negative and not _still_invalid(case):
                # what was invalid (the structure's id, a header) was replaced by what we send
                case.call_and_validate(excluded_checks=[*excluded, negative_data_rejection])
                return
        case.call_and_validate(excluded_checks=excluded)

    run()
    return len(calls)


def test_every_get_endpoint_conforms_over_a_thousand_generated_requests(api_schema, demo_database_url):
    """One test for every GET operation (never split by xdist): per operation up to
    EXAMPLES_PER_OPERATION generated requests (fewer for the exports), valid and invalid; any 5xx, any answer
    that breaks the spec, any spec-valid request refused (outside SEMANTIC_PARAMETERS)
    fails it. The partner GET is run with a real read token of a real structure."""
    engine = make_engine(demo_database_url)
    with transaction(make_sessionmaker(engine), actor="test") as session:
        structure_id = session.query(Structure.id).order_by(Structure.id).first()[0]
        _, plain = tokens.create_token(session, structure_id, scopes=["read"], name=f"schemathesis-{uuid.uuid4()}")
    engine.dispose()
    spec = _spec()
    cases: dict[str, int] = {}
    failures: list[str] = []
    operations = [(path, None) for path in _get_operations(spec)]
    operations.append(("/api/v1/structures/{structure_id}/services/{partner_id}", plain))
    for path, token in operations:
        excluded = [positive_data_acceptance] if path in SEMANTIC_PARAMETERS or token else []
        try:
            examples = EXAMPLES.get(path, EXAMPLES_PER_OPERATION)
            cases[path] = _generate(api_schema[path]["GET"], excluded, token, structure_id, examples)
        except Exception as exc:  # noqa: BLE001 — every operation runs; all failures are reported
            failures.append(f"GET {path} : {exc}")
    assert not failures, "\n\n".join(failures)
    assert len(cases) == len(operations)
    assert sum(cases.values()) >= 1000, cases


WRITE_OPERATIONS = [
    ("POST", "/api/v1/structures/{structure_id}/services"),
    ("PUT", "/api/v1/structures/{structure_id}/services/{partner_id}"),
    ("DELETE", "/api/v1/structures/{structure_id}/services/{partner_id}"),
]


def test_partner_writes_conform_over_generated_requests(pg_server_url, template_db):
    """The partners' writes, valid and invalid bodies and ids generated from the spec
    (NUL bytes, huge strings, points outside France, unknown fields…), with a real
    write token, on a database of their own: no 5xx, no answer outside the spec.
    (A spec-valid body may still be refused for its meaning — an unknown commune or
    zone code — so the « valid data is accepted » check is off here.)"""
    from catalogue import demo
    from tests import dbsetup

    url = dbsetup.create_test_database(pg_server_url, template_db, label="api_writes_")
    try:
        engine = make_engine(url)
        with transaction(make_sessionmaker(engine), actor="demo") as session:
            demo.load(session, departement="02", n_structures=5, n_services=20, seed=7)
        with transaction(make_sessionmaker(engine), actor="test") as session:
            structure_id = session.query(Structure.id).order_by(Structure.id).first()[0]
            _, plain = tokens.create_token(session, structure_id, scopes=["read", "write"], name="schemathesis-w")
        engine.dispose()
        app = create_app(Settings(database_url=url, secret_key="test", tiles_url="", api_rate_limit_per_minute=0,
                                  offre_env="test"))
        app.config["TESTING"] = True
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        failures, cases = [], {}
        for method, path in WRITE_OPERATIONS:
            try:
                # ignored_auth: every case carries the real token (set in _generate), so
                # a « generated invalid auth » is never what is sent.
                cases[(method, path)] = _generate(schema[path][method], [positive_data_acceptance, ignored_auth],
                                                  plain, structure_id, 60)
            except Exception as exc:  # noqa: BLE001 — every operation runs; all failures are reported
                failures.append(f"{method} {path} : {exc}")
        app.extensions["offre"]["engine"].dispose()
        assert not failures, "\n\n".join(failures)
        assert sum(cases.values()) >= 150, cases
    finally:
        dbsetup.drop_database(pg_server_url, url)
