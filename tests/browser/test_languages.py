"""The public pages in other languages, in the browser (issue #20): the language
switch, the right-to-left layout of Arabic (menus, cards, maps, print), axe in
Arabic and in English, the easy-to-read mode. Screenshots of the Arabic pages go
to var/screenshots (not committed) for a person to look at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.test_mobile import public_urls

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var/screenshots"


def _with(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


def test_the_switch_changes_the_language_and_it_stays(page, live_server):
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_role("link", name="العربية").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", name="المحاور العشرة لـ SPIE").is_visible()
    # A link of the page keeps it; so does the cookie on an address typed without it.
    page.get_by_role("link", name="خريطة الخدمات").first.click()
    page.wait_for_load_state()
    assert "lang=ar" in page.url and page.locator("html").get_attribute("dir") == "rtl"
    page.goto(live_server + "/recherche?code_commune=02408")
    assert page.locator("html").get_attribute("lang") == "ar"
    # The search form sends the language with the search.
    page.goto(live_server + "/?lang=uk")
    page.get_by_role("button", name="Шукати").click()
    page.wait_for_load_state()
    assert "lang=uk" in page.url and page.locator("html").get_attribute("lang") == "uk"
    page.get_by_role("link", name="Français").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "fr"


def test_the_browser_language_chooses_on_the_first_visit(chromium, live_server):
    context = chromium.new_context(locale="es-ES", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(live_server + "/")
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.get_by_role("heading", name="Los diez temas del SPIE").is_visible()
    finally:
        context.close()


@pytest.mark.parametrize("width", (390, 1280))
def test_right_to_left_layout(chromium, live_server, width):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(locale="ar", viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        urls = public_urls(page, live_server)
        for name, url in urls.items():
            page.goto(live_server + _with(url, "lang=ar"))
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{name} : {scroll} px de large pour {width} px"
            if name in ("accueil", "résultats", "offre", "carte"):
                page.screenshot(path=str(SCREENSHOTS / f"rtl-{name.replace(' ', '-')}-{width}.png"), full_page=True)
        # Cards: their text starts on the right.
        page.goto(live_server + _with(urls["résultats"], "lang=ar"))
        card = page.locator(".result").first
        assert card.evaluate("e => getComputedStyle(e).direction") == "rtl"
        title = card.locator(".result-title a").bounding_box()
        box = card.bounding_box()
        assert box["x"] + box["width"] - (title["x"] + title["width"]) < 40, "titre collé à droite"
        # The header: the name of the site on the right, at 1280 px.
        if width == 1280:
            brand = page.locator(".brand").bounding_box()
            assert brand["x"] > width / 2
        # Telephone numbers read left to right inside Arabic text.
        phone = page.locator('a[href^="tel:"]').first
        if phone.count():
            assert phone.evaluate("e => getComputedStyle(e).direction") == "ltr"
        # Maps: Leaflet's controls are there and inside the map.
        page.goto(live_server + "/carte?lang=ar")
        page.wait_for_selector(".leaflet-control-zoom", timeout=10000)
        zoom = page.locator(".leaflet-control-zoom").bounding_box()
        map_box = page.locator(".map-box").first.bounding_box()
        assert map_box["x"] <= zoom["x"] <= map_box["x"] + map_box["width"]
        # Print: the paper version of a service page keeps the direction and hides the switch.
        page.goto(live_server + _with(urls["offre"], "lang=ar"))
        page.emulate_media(media="print")
        assert not page.locator(".language-switch").is_visible()
        assert page.locator("h1").evaluate("e => getComputedStyle(e).direction") == "rtl"
        page.screenshot(path=str(SCREENSHOTS / f"rtl-impression-offre-{width}.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("lang", ("ar", "en"))
def test_axe_in_arabic_and_english(page, live_server, lang):
    from tests.browser.test_journeys import _axe

    problems = {}
    urls = public_urls(page, live_server)
    urls["offre facile à lire"] = _with(urls["offre"], "falc=1")
    urls["résultats faciles à lire"] = _with(urls["résultats"], "falc=1")
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in urls.items():
            page.goto(live_server + _with(url, f"lang={lang}"))
            bad = [v for v in _axe(page) if v["impact"] in ("serious", "critical")]
            if bad:
                problems[f"{name} {width}"] = bad
    # Back to French for the other tests of the session (the cookie is per context).
    assert problems == {}, problems


def test_easy_to_read_switch(page, live_server):
    urls = public_urls(page, live_server)
    page.goto(live_server + urls["offre"])
    page.get_by_role("link", name="Facile à lire").click()
    page.wait_for_load_state()
    assert "falc" in (page.locator("html").get_attribute("class") or "")
    essentials = page.locator(".essentials")
    assert essentials.is_visible()
    assert essentials.locator("dt").first.inner_text().strip() == "Où aller ?"
    # The essentials come before the rest, in larger text.
    assert essentials.bounding_box()["y"] < page.locator("#titre-pour-qui").bounding_box()["y"]
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 19
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "falc-offre-1280.png"), full_page=True)
    page.get_by_role("link", name="Revenir au texte habituel").click()
    page.wait_for_load_state()
    assert "falc" not in (page.locator("html").get_attribute("class") or "")


@pytest.mark.parametrize("width", (390, 1280))
def test_the_selection_in_arabic_right_to_left(chromium, live_server, width):
    """« Ma sélection » (issue 19, point 1) in Arabic: the button's words and the
    announcement of selection.js, then the page, right to left, no French left."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(locale="ar", viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite&lang=ar")
        for i in range(2):
            result = page.locator(".result").nth(i)
            result.get_by_role("button", name=re.compile("^أضف إلى اختياري")).click()
            result.get_by_role("button", name=re.compile("^أزل من اختياري")).wait_for()
        assert "(عدد الخدمات: 2)" in page.locator("#selection-annonce").inner_text()
        page.goto(live_server + "/selection?lang=ar")
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.get_by_role("heading", name="اختياري", exact=True).is_visible()
        assert page.locator(".selection-list > li").count() == 2
        assert page.locator("h1").evaluate("e => getComputedStyle(e).direction") == "rtl"
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{scroll} px de large pour {width} px"
        for french in ("Monter", "Retirer", "Envoyer par courriel", "Vider la sélection"):
            assert page.get_by_text(french, exact=True).count() == 0, french
        page.screenshot(path=str(SCREENSHOTS / f"rtl-selection-{width}.png"), full_page=True)
    finally:
        context.close()
