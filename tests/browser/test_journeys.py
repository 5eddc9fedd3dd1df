"""A referent's journey in a real Chromium: keyboard only, with and without
JavaScript; the public map's clusters; axe-core on the four main pages."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import AXE

pytestmark = pytest.mark.browser


def tab_until(page, predicate_js: str, limit: int = 250) -> None:
    """Press Tab until the focused element satisfies `predicate_js` (a JS expression
    over `el`); fails if it is never reached."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!({predicate_js}); }})()"):
            return
    raise AssertionError(f"focus never reached: {predicate_js}")


def search_laon_mobilite(page, *, with_suggestions: bool) -> None:
    tab_until(page, "el.id === 'commune'")
    page.keyboard.type("Laon", delay=30)
    if with_suggestions:
        page.wait_for_selector("#commune-suggestions [role=option]")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        assert page.input_value("#commune") == "Laon (02000)"
        assert page.input_value("#code_commune") == "02408"
    tab_until(page, "el.id === 'besoin'")
    page.keyboard.type("Mobilit")
    assert page.input_value("#besoin") == "mobilite"
    tab_until(page, "el.type === 'submit' && el.closest('form[aria-label]')")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/recherche\?"))


def open_first_result_with_keyboard(page) -> None:
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent.trim()") == "Aller au contenu"
    page.keyboard.press("Enter")
    tab_until(page, "el.closest('.result-title')")
    name = page.evaluate("document.activeElement.textContent.trim()")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/services/[0-9a-f-]{36}(\?retour=[^#]*)?$"))
    assert page.locator("h1").inner_text() == name


def test_keyboard_only_search_laon_mobilite_to_a_service(page, live_server):
    page.goto(live_server + "/")
    search_laon_mobilite(page, with_suggestions=True)
    assert "code_commune=02408" in page.url and "thematiques=mobilite" in page.url
    assert "pour une personne habitant Laon" in page.locator("h1").inner_text()
    assert page.locator(".result").count() > 0
    open_first_result_with_keyboard(page)
    assert page.get_by_text("Comment en bénéficier").count() == 1


def test_same_journey_without_javascript(page_without_js, live_server):
    page = page_without_js
    page.goto(live_server + "/")
    search_laon_mobilite(page, with_suggestions=False)
    assert "commune=Laon" in page.url
    assert "pour une personne habitant Laon" in page.locator("h1").inner_text()
    open_first_result_with_keyboard(page)
    assert page.get_by_text("Éligible :").count() >= 1


def test_public_map_shows_clustered_markers(page, live_server, artifacts):
    page.goto(live_server + "/carte")
    page.wait_for_selector("offre-map[data-count]")
    page.wait_for_function("document.querySelectorAll('.marker-cluster').length > 1")
    clusters = page.locator(".marker-cluster").count()
    assert clusters > 1
    assert int(page.get_attribute("offre-map", "data-count")) > 100
    shot = artifacts / "carte.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    # A group zooms in when clicked, until single places show; a place opens its popup.
    place = "offre-map .leaflet-marker-icon:not(.marker-cluster)"
    for _ in range(12):
        if page.locator(place).count():
            break
        before = page.evaluate("document.querySelector('offre-map')._map.getZoom()")
        page.locator(".marker-cluster").first.click()
        page.wait_for_function(f"document.querySelector('offre-map')._map.getZoom() > {before}")
        page.wait_for_timeout(400)
    page.locator(place).first.click()
    page.wait_for_selector(".leaflet-popup-content a[href^='/services/']")


def test_public_map_at_phone_and_desktop_widths(chromium, live_server, artifacts):
    for width, height in ((390, 844), (1280, 800)):
        context = chromium.new_context(locale="fr-FR", viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(live_server + "/carte")
        page.wait_for_selector("offre-map[data-count] .marker-cluster")
        assert page.locator(".marker-cluster").count() > 1
        page.screenshot(path=str(artifacts / f"carte-{width}.png"), full_page=False)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        context.close()


def _axe(page) -> list[dict]:
    # From our own origin: the Content-Security-Policy refuses inline scripts.
    assert AXE.exists()
    page.add_script_tag(url="/static/vendor/axe/axe.min.js")
    return page.evaluate(
        """async () => {
            const r = await axe.run(document);
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )


def _service_url(page, live_server) -> str:
    page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite")
    return live_server + page.locator(".result-title a").first.get_attribute("href")


@pytest.mark.parametrize("which", ["home", "results", "service", "map"])
def test_axe_no_serious_or_critical_violation(page, live_server, which):
    urls = {
        "home": lambda: live_server + "/",
        "results": lambda: live_server + "/recherche?code_commune=02408&thematiques=mobilite",
        "service": lambda: _service_url(page, live_server),
        "map": lambda: live_server + "/carte",
    }
    page.goto(urls[which]())
    if which == "map":
        page.wait_for_selector(".marker-cluster")
    bad = [v for v in _axe(page) if v["impact"] in ("serious", "critical")]
    assert bad == [], bad


def test_results_print_on_a4_without_filters_map_or_forms(page, live_server, artifacts):
    page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite")
    page.emulate_media(media="print")
    assert page.locator(".results-list .result").first.is_visible()
    for hidden in (".filters", ".results-map", "form", ".site-header nav ul:last-child"):
        assert not page.locator(hidden).first.is_visible(), hidden
    pdf = artifacts / "resultats-a4.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes()[:4] == b"%PDF"


def test_service_page_prints_without_live_states(page, live_server):
    page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite")
    page.locator(".result-title a").first.click()
    page.wait_for_url(re.compile(r"/services/"))
    # With JavaScript the « Imprimer » button is shown, and the way back is the search.
    assert page.locator(".js-print").is_visible()
    back = page.locator("nav.breadcrumb a", has_text="Retour aux résultats")
    assert "code_commune=02408" in back.get_attribute("href")
    page.emulate_media(media="print")
    assert not page.locator(".js-print").is_visible()
    for selector in (".live-state", ".directions"):
        assert all(not el.is_visible() for el in page.locator(selector).all())


def test_print_button_is_absent_without_javascript(page_without_js, live_server):
    page = page_without_js
    page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite")
    page.locator(".result-title a").first.click()
    page.wait_for_url(re.compile(r"/services/"))
    assert page.locator(".js-print").count() == 1 and not page.locator(".js-print").is_visible()


def test_main_pages_run_under_the_content_security_policy(page, live_server):
    """No CSP violation and no script error on the main pages, their scripts at work
    (maps drawn, print button shown, API documentation rendered)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # (a missing resource is reported below with its address, not as a console error)
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.goto(live_server + "/")
    assert "script-src 'self'" in page.evaluate("fetch('/').then(r => r.headers.get('content-security-policy'))")
    page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite")
    page.wait_for_selector(".static-map .leaflet-marker-icon, .static-map .marker-cluster")
    assert page.locator(".js-print").first.is_visible()  # shown by print.js
    page.goto(_service_url(page, live_server))
    page.wait_for_selector(".static-map .leaflet-marker-icon")
    page.wait_for_timeout(500)  # the map has settled (fitted to the zone)
    page.locator(".static-map .leaflet-marker-icon").first.click()
    page.wait_for_selector(".leaflet-popup-content", state="attached")
    assert page.locator(".leaflet-popup-content").inner_text().strip()
    page.goto(live_server + "/carte")
    page.wait_for_selector(".marker-cluster")
    for path in ("/connexion", "/inscription", "/mot-de-passe-oublie"):
        page.goto(live_server + path)
    page.goto(live_server + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert errors == [], errors
    assert page.csp_violations == []
