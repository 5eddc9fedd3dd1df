"""Public pages on a phone and with a keyboard: no horizontal scrolling at 320,
390 and 768 px on any public page template; the results come first; a second
skip link reaches the first result in a few key presses; focus rings that can be
seen (at least 3:1 against their background)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

WIDTHS = (320, 390, 768)


def public_urls(page, live_server) -> dict[str, str]:
    """One URL per public page template, found through the pages themselves."""
    page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite")
    service = page.locator(".result-title a").first.get_attribute("href")
    structure = page.locator(".result-structure a").first.get_attribute("href")
    return {
        "accueil": "/",
        "résultats": "/recherche?code_commune=02408&thematiques=mobilite",
        "résultats vides": "/recherche?code_commune=02408&q=zzzqqqxx",
        "choix de commune": "/recherche?commune=02100",
        "erreur de recherche": "/recherche?code_commune=02408&publics=martiens",
        "offre": service,
        "structure": structure,
        "carte": "/carte",
        "connexion": "/connexion",
        "inscription": "/inscription",
        "page introuvable": "/services/00000000-0000-0000-0000-000000000000",
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_no_public_page_scrolls_sideways(chromium, live_server, width):
    context = chromium.new_context(locale="fr-FR", viewport={"width": width, "height": 844})
    page = context.new_page()
    try:
        for name, url in public_urls(page, live_server).items():
            page.goto(live_server + url)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{name} ({url}) : {scroll} px de large pour un écran de {width} px"
    finally:
        context.close()


def test_on_a_phone_the_first_result_is_on_the_first_screen(chromium, live_server):
    context = chromium.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite")
        top = page.locator(".result").first.bounding_box()["y"]
        assert top < 844, f"premier résultat à y = {top}"
        # The filters wait behind « Filtres (n) », and open on demand.
        assert not page.locator("#filtres").evaluate("d => d.open")
        assert re.fullmatch(r"Filtres \(1\)", page.locator("#titre-filtres").inner_text())
        page.locator("#filtres > summary").click()
        assert page.locator("#rayon_km").is_visible()
        # The menu collapses behind « Menu ».
        assert not page.locator("#menu-principal").is_visible()
        page.get_by_role("button", name="Menu").click()
        assert page.get_by_role("link", name="Carte de l'offre").is_visible()
    finally:
        context.close()


def test_filters_work_without_javascript_on_a_phone(chromium, live_server):
    context = chromium.new_context(locale="fr-FR", viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite")
        page.locator("#filtres > summary").click()
        page.locator("#rayon_km").fill("10")
        page.get_by_role("button", name="Appliquer").click()
        page.wait_for_url(re.compile(r"rayon_km=10"))
        # Without JavaScript every link of the menu is shown.
        assert page.get_by_role("link", name="Carte de l'offre").is_visible()
    finally:
        context.close()


def test_second_skip_link_reaches_the_first_result_in_five_tabs(page, live_server):
    page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Aller aux résultats"
    page.keyboard.press("Enter")
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('.result-title')"):
            break
    else:
        raise AssertionError("premier résultat hors de portée en 5 tabulations")


CONTRAST = """(el) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const style = getComputedStyle(el);
  if (style.outlineStyle === 'none' || parseFloat(style.outlineWidth) < 2) return {ratio: 0, why: 'no outline'};
  let bg = null;
  for (let n = el.parentElement; n; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) { bg = c; break; }
  }
  bg = bg || [255, 255, 255];
  const a = lum(rgb(style.outlineColor)), b = lum(bg);
  return {ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), why: style.outlineColor + ' on ' + bg};
}"""


def test_focus_rings_stand_out_from_their_background(page, live_server):
    page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite")
    seen = 0
    for _ in range(25):
        page.keyboard.press("Tab")
        handle = page.evaluate_handle("document.activeElement")
        # The body, or a native widget's own part (the calendar button of a date
        # field: the input is active but not :focus, and the browser draws that ring).
        if page.evaluate("(el) => el === document.body || !el.matches(':focus')", handle):
            continue
        result = page.evaluate(CONTRAST, handle)
        name = page.evaluate("(el) => el.tagName + ' ' + (el.textContent || el.id).trim().slice(0, 30)", handle)
        assert result["ratio"] >= 3, f"{name}: contraste {result['ratio']:.2f} ({result['why']})"
        seen += 1
    assert seen >= 20


def test_without_javascript_the_map_box_says_what_it_would_show(page_without_js, live_server):
    page = page_without_js
    page.goto(live_server + "/recherche?code_commune=02408&thematiques=mobilite")
    fallback = page.locator(".results-map .map-fallback")
    assert fallback.is_visible()
    assert re.search(r"elle montrerait les lieux d'accueil de \d+ offres? de cette page", fallback.inner_text())
    fallback.get_by_role("link", name="Voir la liste").click()
    assert page.url.endswith("#resultats")


@pytest.mark.parametrize("path", ["/recherche?code_commune=02408&thematiques=mobilite", "/carte"])
def test_maps_without_tiles_show_the_departement_and_its_epcis(page, live_server, path):
    # The browser tests run without a tile server (TILES_URL empty): the base layer
    # from the référentiel still shows where things are.
    page.goto(live_server + path)
    page.wait_for_selector("path.offre-base-departement", state="attached", timeout=15000)
    assert page.locator("path.offre-base-departement").count() == 1
    assert page.locator("path.offre-base-epci").count() >= 15
    assert page.locator(".leaflet-tile").count() == 0


def _total_in_heading(page) -> int:
    heading = page.locator("h1").inner_text()
    if heading.startswith("Aucune"):
        return 0
    return int(re.sub(r"\D", "", heading.split(" offre")[0]))


def test_ticking_a_filter_gives_the_count_it_showed(page, live_server):
    """Counts that never lie, as a person checks them: read the count beside a value,
    tick it, apply, and find that many results."""
    search = "/recherche?code_commune=02408&thematiques=mobilite"
    page.goto(live_server + search)
    labels = page.locator(".filters label[for^='f-publics-'], .filters label[for^='f-frais-'], "
                          ".filters label[for^='f-them-']").all()
    checks = []
    for label in labels:
        box = page.locator("#" + label.get_attribute("for"))
        if box.is_checked() or box.is_disabled() or not box.is_visible():
            continue
        shown = int(re.sub(r"\D", "", label.locator(".count").text_content()))
        checks.append((label.get_attribute("for"), shown))
    assert len(checks) >= 6
    for box_id, shown in checks[:8]:
        page.goto(live_server + search)
        page.locator("#" + box_id).check()
        page.get_by_role("button", name="Appliquer").click()
        page.wait_for_load_state()
        assert _total_in_heading(page) == shown, f"{box_id} montrait {shown}"


@pytest.mark.parametrize("width", (390, 1280))
def test_axe_on_every_public_page_template(page, live_server, width):
    from tests.browser.test_journeys import _axe

    page.set_viewport_size({"width": width, "height": 900})
    problems = {}
    for name, url in public_urls(page, live_server).items():
        page.goto(live_server + url)
        bad = [v for v in _axe(page) if v["impact"] in ("serious", "critical")]
        if bad:
            problems[name] = bad
    assert problems == {}, problems
