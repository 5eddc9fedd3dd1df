"""Bad input never gives a 500: NUL bytes and other control characters, digits of
other scripts, huge or negative numbers, impossible dates, in every URL segment,
query parameter and form field of every route of the application (app.url_map),
as an administrator (who reaches the deepest code) with a valid CSRF token.

The parameter names are collected from the source: what the views read from
`request.args`/`request.form` (and the search's parsing helpers), and every `name=`
of the templates' form fields."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from tests.auth_helpers import add_member, csrf_token, log_in_as, make_user
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
_READS = [
    re.compile(r"""(?:args|form|values)\.get(?:list)?\(\s*["']([a-z][a-z0-9_]*)["']"""),
    re.compile(r"""\(\s*args,\s*["']([a-z][a-z0-9_]*)["']"""),
    re.compile(r"""\bname=["']([a-z][a-z0-9_]*)["']"""),
]


def _parameter_names() -> list[str]:
    names: set[str] = set()
    files = [*(ROOT / "web").rglob("*.py"), *(ROOT / "web" / "templates").rglob("*.html")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for pattern in _READS:
            names.update(pattern.findall(text))
    # The search's parameters are declared once, in search.params.SearchArgs.
    names.update(_search_parameters())
    # The offer and structure forms write their fields from the models' names.
    from catalogue.models import Service, Structure

    for model in (Service, Structure):
        names.update(c.name for c in model.__table__.columns if not c.name.endswith("_id") and c.name != "id")
    names.discard("csrf_token")
    return sorted(names)


def _search_parameters() -> list[str]:
    from search.params import SearchArgs

    return list(SearchArgs().fields)


PARAMS = _parameter_names()
# Sent to every parameter of a route at once.
BAD_VALUES = [
    "a\x00b", "\x01\x7f", "²", "٣٤", "-1", "9" * 40, "1e309", "nan",
    "0001-01-01T00:00+14:00", "x" * 5000, "\u202e\ufeff' OR '1'='1", "",
]
# Sent to one query parameter at a time (a search stops at the first bad parameter).
ONE_BY_ONE = ["²"]
SEGMENT_VALUES = ["a\x00b", "²", "9" * 40, "%00", "\u202e"]


def test_parameter_names_were_found():
    for name in ("page", "size", "rayon", "semaines", "duree", "comite", "ouvert_le", "q", "nom", "message"):
        assert name in PARAMS, name


@pytest.fixture
def setup(settings, connection, db, factories):
    app = create_app(settings.replace(
        export_rate_limit="", pdf_rate_limit="", report_rate_limit="", report_rate_limit_per_offer="",
        account_mail_rate_limit="", smtp_port=1, pdf_max_offers=5,
        # A small département (101 communes): the coverage pages compute over all of them.
        departement_code="90",
    ))
    # Not TESTING: an exception becomes a 500 answer, and every case is tried.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.extensions["offre"]["sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    admin = make_user(db, email="admin@example.org", is_admin=True)
    service = factories.ServiceFactory()
    db.flush()
    add_member(db, admin, service.structure)
    db.flush()
    segments = {"service_id": str(service.id), "structure_id": str(service.structure_id)}
    return app, admin, segments


def _client(app, admin):
    client = app.test_client()
    log_in_as(client, admin)  # a real server-side session: the logged-in routes are reached
    with client.session_transaction() as s:
        s["_csrf"] = "jeton-csrf-du-test"
    return client, "jeton-csrf-du-test"


def _cases(app, segments):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/static"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            values = {a: segments.get(a, "1" if rule._converters[a].__class__.__name__.endswith("IntegerConverter")
                                      else "x") for a in rule.arguments}
            yield rule, method, values


def _url(rule, values):
    url = rule.rule
    for name, value in values.items():
        url = re.sub(r"<(?:[^:<>]+:)?" + name + r">", value, url)
    return url


def _send(client, token, method, url, params):
    if method in ("GET", "DELETE"):
        return client.open(url, method=method, query_string=params)
    if url.startswith("/api/"):
        return client.open(url, method=method, json=params)
    return client.open(url, method=method, data={**params, "csrf_token": token})


def test_no_server_error_anywhere(setup):
    app, admin, segments = setup
    failures = []
    count = 0
    for rule, method, values in _cases(app, segments):
        url = _url(rule, values)
        requests = [(url, dict.fromkeys(PARAMS, bad)) for bad in BAD_VALUES]
        if method == "GET":
            requests += [(url, {name: bad}) for name in PARAMS for bad in ONE_BY_ONE
                         if f'"{name}"' in _module_text(app, rule)]
        for name in values:
            requests += [(_url(rule, {**values, name: bad}), {}) for bad in SEGMENT_VALUES]
        for target, params in requests:
            client, token = _client(app, admin)
            r = _send(client, token, method, target, params)
            r.get_data()
            r.close()
            count += 1
            if r.status_code >= 500:
                failures.append((method, target[:120], {k: v[:20] for k, v in list(params.items())[:3]},
                                 r.status_code))
    assert count > 1000
    assert not failures, failures[:20]


_TEXTS: dict[str, str] = {}


def _module_text(app, rule) -> str:
    """The source of the module of the view, plus the search's parameters when it uses them."""
    view = app.view_functions[rule.endpoint]
    module = getattr(view, "__module__", "")
    if module not in _TEXTS:
        path = ROOT / (module.replace(".", "/") + ".py")
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if "parse_query" in text or "search_" in text:
            text += (ROOT / "web" / "search_.py").read_text(encoding="utf-8")
            text += " ".join(f'"{name}"' for name in _search_parameters())
        _TEXTS[module] = text
    return _TEXTS[module]


def test_nul_is_refused_by_name(client):
    r = client.get("/recherche", query_string={"q": "a\x00b"})
    assert r.status_code == 400
    assert "q : caractère de contrôle interdit (U+0000)" in r.get_data(as_text=True)
    r = client.post("/connexion", data={"email": "a\x00@example.org", "password": "x"})
    assert r.status_code == 400 and "email" in r.get_data(as_text=True)
    r = client.get("/services/a%00b")
    assert r.status_code == 400
    r = client.put("/api/v1/structures/00000000-0000-0000-0000-000000000000/services/x",
                   json={"nom": "Bon\u0000jour", "description": "Deux lignes\navec une tabulation\t"})
    assert r.status_code == 400
    assert r.json["errors"] == {"nom": [r.json["detail"]]}


def test_deeply_nested_json_is_refused(client):
    for body in ("[" * 100_000 + "]" * 100_000, "[" * 40 + "]" * 40):
        r = client.put("/api/v1/structures/00000000-0000-0000-0000-000000000000/services/x",
                       data=body, content_type="application/json")
        assert r.status_code == 400
        assert "imbriqué" in r.json["detail"]


def test_multiline_text_keeps_newlines(client):
    """Tab, LF and CR stay allowed in form fields (descriptions, messages)."""
    r = client.post("/connexion", data={"email": "x@example.org", "password": "a\r\nb\tc",
                                        "csrf_token": csrf_token(client)})
    assert r.status_code == 401


def test_digits_of_other_scripts_are_not_numbers(client):
    for query in ("page=²", "size=٣", "rayon_km=²", "lat=٤٩", "page=" + "9" * 40):
        r = client.get(f"/recherche?{query}")
        assert r.status_code == 400, query
    assert client.get("/api/v1/services/search?page=²").status_code == 400
    assert client.get("/api/v1/services/search?page=2").status_code == 200


def test_impossible_date_offsets_are_refused(client):
    for value in ("0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00", "1066-10-14T10:00"):
        r = client.get("/recherche", query_string={"ouvert_le": value})
        assert r.status_code == 400, value
        assert "ouvert_le" in r.get_data(as_text=True)
    assert client.get("/recherche", query_string={"ouvert_le": "2026-12-07T10:00+01:00"}).status_code == 200
