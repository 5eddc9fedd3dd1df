"""Security headers on every response (issue #15, point 9): a strict
Content-Security-Policy (no inline script anywhere), no framing, no MIME sniffing,
a same-origin referrer, HSTS when the cookies are HTTPS-only."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from tests.auth_helpers import log_in_as, make_user
from web.app import create_app
from web.security import content_security_policy

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _directives(csp: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}


def _check(response, where: str) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, f"{where} : {name} = {response.headers.get(name)}"
    csp = _directives(response.headers.get("Content-Security-Policy", ""))
    assert csp.get("frame-ancestors") == ["'none'"], where
    assert csp.get("script-src") == ["'self'"], where  # no inline script, no eval, no other origin
    assert csp.get("object-src") == ["'none'"], where
    assert csp.get("default-src") == ["'self'"], where
    assert not any("unsafe" in v for values in csp.values() for v in values), where


def _get_rules(app) -> list[str]:
    """Every GET page of the application that takes no argument."""
    return sorted({
        rule.rule for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"
    })


def test_every_page_without_arguments_carries_the_headers(app, client, db, factories):
    factories.ServiceFactory(nom="Atelier CV")
    paths = _get_rules(app)
    assert {"/", "/recherche", "/carte", "/connexion", "/inscription", "/api/v1/docs"} <= set(paths)
    user = make_user(db, email="admin@example.org", is_admin=True)
    db.commit()
    for logged_in in (False, True):
        if logged_in:
            log_in_as(client, user)
        for path in paths:
            response = client.get(path)
            assert response.status_code < 500, path
            _check(response, f"{path} ({'connecté' if logged_in else 'anonyme'})")


def test_pages_with_ids_errors_json_and_static_files_carry_them(client, factories):
    service = factories.ServiceFactory(nom="Atelier CV")
    for path in (f"/services/{service.id}", f"/structures/{service.structure_id}", "/page-inconnue",
                 "/api/v1/thematiques", "/api/v1/services/pas-un-id", "/static/css/site.css",
                 "/recherche?code_commune=02408"):
        _check(client.get(path), path)
    _check(client.post("/connexion", data={}), "POST /connexion sans jeton (400)")


def test_the_theme_style_is_allowed_by_its_hash_and_nothing_else_inline(app, client):
    page = client.get("/").get_data(as_text=True)
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    csp = _directives(client.get("/").headers["Content-Security-Policy"])
    assert csp["style-src"] == ["'self'", f"'sha256-{digest}'"]


def test_images_may_come_from_the_tile_server_and_the_logo(settings):
    csp = _directives(content_security_policy(settings.replace(
        tiles_url="https://{s}.tile.example.org/{z}/{x}/{y}.png", logo_url="https://cd02.example.fr/logo.svg")))
    assert csp["img-src"] == ["'self'", "data:", "https://*.tile.example.org", "https://cd02.example.fr"]
    csp = _directives(content_security_policy(settings.replace(oidc_issuer="https://auth.example.gouv.fr/api/v2")))
    assert csp["form-action"] == ["'self'", "https://auth.example.gouv.fr"]  # logout goes there


@pytest.mark.parametrize("secure", [False, True])
def test_hsts_only_when_the_cookies_are_https_only(settings, secure):
    app = create_app(settings.replace(session_cookie_secure=secure))
    response = app.test_client().get("/healthz")
    if secure:
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    else:
        assert "Strict-Transport-Security" not in response.headers


# Served by WeasyPrint only (PDF), never to a browser.
PDF_TEMPLATES = {"cto/_pdf_style.html", "exports/results.html"}


def test_no_template_has_an_inline_script_handler_or_style_attribute():
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                problems.append(f"{name} : script en ligne {tag}")
        if re.search(r"\son[a-z]+\s*=", text):
            problems.append(f"{name} : gestionnaire d'événement en ligne")
        if re.search(r"\sstyle\s*=", text):
            problems.append(f"{name} : attribut style")
        if "<style" in text and name not in PDF_TEMPLATES and name != "base.html":
            problems.append(f"{name} : élément <style>")
        if "javascript:" in text:
            problems.append(f"{name} : lien javascript:")
    assert not problems, "\n".join(problems)


def test_no_python_module_writes_a_style_attribute_or_inline_script():
    """Markup built in Python (charts, maps) obeys the same policy as templates."""
    root = TEMPLATES.parent
    problems = [
        path.relative_to(root).as_posix() for path in sorted(root.rglob("*.py"))
        if re.search(r"""\sstyle=\\?["']|["']<script>""", path.read_text())
    ]
    assert not problems, problems
