"""The OpenAPI spec describes every endpoint of /api/v1, and schemathesis finds no
5xx and no response that breaks its schema on any GET endpoint."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from web.app import create_app
from web.settings import Settings

# Operations whose parameters have meaning the spec cannot express (a commune code
# must exist in the référentiel): schema-valid requests may be refused with a 400
# problem naming the parameter, so schemathesis's "valid data is accepted" check is off
# for them; every other check (no 5xx, status, content type, schema) still runs.
SEMANTIC_PARAMETERS = {"/api/v1/services/search"}
CASES: dict[str, int] = {}

# Served by flask-smorest itself: the spec and its documentation page.
NOT_IN_SPEC = {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/docs/<path:filename>"}


def _spec_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_every_api_url_rule_is_in_the_spec():
    app = create_app(Settings(database_url="", secret_key="t", offre_env="test"))
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
    app = create_app(Settings(database_url="", secret_key="t", offre_env="test"))
    html = app.test_client().get("/api/v1/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def _get_paths() -> list[str]:
    # The spec needs no database: read it from an app without one, at collection.
    app = create_app(Settings(database_url="", secret_key="t", offre_env="test"))
    spec = app.test_client().get("/api/v1/openapi.json").json
    return sorted(path for path, item in spec["paths"].items() if "get" in item)


@pytest.fixture(scope="module")
def api_schema(demo_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", demo_app)


# Per GET operation: up to 150 generated requests, valid and invalid (operations
# without parameters have one), so the dozen operations make over a thousand cases.
@pytest.mark.parametrize("path", _get_paths())
def test_get_endpoint_conforms(api_schema, path):
    operation = api_schema[path]["GET"]
    excluded = []
    if path in SEMANTIC_PARAMETERS:
        excluded.append(positive_data_acceptance)
    calls = []

    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    @given(case=strategy)
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def run(case):
        calls.append(1)
        case.call_and_validate(excluded_checks=excluded)

    run()
    CASES[path] = len(calls)


def test_a_few_thousand_cases_were_generated():
    if len(CASES) < len(_get_paths()):
        pytest.skip("lancez tout le module pour compter les cas")
    assert sum(CASES.values()) >= 1000, CASES
