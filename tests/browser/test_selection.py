"""A referent builds a selection of 3 offers from the results page and prints it
(issue 19, point 1), in a real Chromium: with JavaScript (no reload), without
(forms that post and come back), at 390 and 1280 px."""

from __future__ import annotations

import io
import re
import unicodedata

import pytest
from pypdf import PdfReader

from tests.browser.test_journeys import _axe

pytestmark = pytest.mark.browser

RESULTS = "/recherche?code_commune=02408&thematiques=mobilite"


def _names_of_first_three(page) -> list[str]:
    return [page.locator(".result-title a").nth(i).inner_text() for i in range(3)]


def test_a_referent_builds_a_selection_of_three_offers_and_prints_it(page, live_server, artifacts):
    page.goto(live_server + RESULTS)
    names = _names_of_first_three(page)
    for i in range(3):
        result = page.locator(".result").nth(i)
        result.get_by_role("button", name=re.compile("^Ajouter à ma sélection")).click()
        # selection.js: no reload, the button turns into « Retirer », the menu counts.
        result.get_by_role("button", name=re.compile("^Retirer de ma sélection")).wait_for()
        assert page.locator(".selection-count").inner_text() == f" ({i + 1})"
    assert page.locator("#selection-annonce").inner_text() == "Offre ajoutée à votre sélection (3 offres)."
    page.get_by_role("link", name=re.compile("^Ma sélection")).click()
    page.wait_for_url(re.compile(r"/selection$"))
    items = page.locator(".selection-list > li")
    assert items.count() == 3
    assert [items.nth(i).locator("h2").inner_text() for i in range(3)] == names
    assert page.locator(".js-print").is_visible()  # print.js shows it
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(artifacts / f"selection-{width}.png"), full_page=True)
    bad = [v for v in _axe(page) if v["impact"] in ("serious", "critical")]
    assert bad == [], bad

    # Printed: the three offers with their hours, nothing of the forms and buttons.
    page.emulate_media(media="print")
    assert all(items.nth(i).is_visible() for i in range(3))
    for hidden in (".selection-forms", ".selection-actions", ".selection-item-actions", ".flashes",
                   ".site-header nav ul:last-child"):
        assert all(not el.is_visible() for el in page.locator(hidden).all()), hidden
    assert page.locator(".print-only").first.is_visible()
    printed = artifacts / "selection-a4.pdf"
    page.pdf(path=str(printed), format="A4")
    reader = PdfReader(io.BytesIO(printed.read_bytes()))
    assert len(reader.pages) <= 2, f"{len(reader.pages)} pages pour 3 offres"
    # (NFKC: Chromium's PDF writes ligatures, « oﬀre »)
    words = unicodedata.normalize("NFKC", " ".join(" ".join(p.extract_text() for p in reader.pages).split()))
    for name in names:
        assert " ".join(name.split()) in words
    assert "Horaires" in words


def test_without_javascript_the_button_posts_and_comes_back(page_without_js, live_server):
    page = page_without_js
    page.goto(live_server + RESULTS)
    first = page.locator(".result").first
    name = first.locator(".result-title a").inner_text()
    first.get_by_role("button", name=re.compile("^Ajouter à ma sélection")).click()
    page.wait_for_url(re.compile(r"/recherche\?.*code_commune=02408"))
    assert "Offre ajoutée à votre sélection" in page.locator(".flashes").inner_text()
    assert page.locator(".result").first.get_by_role("button", name=re.compile("^Retirer de ma sélection")).count() == 1
    page.goto(live_server + "/selection")
    assert page.locator(".selection-list h2").inner_text() == name
    page.get_by_role("button", name=re.compile("^Retirer")).click()
    page.wait_for_url(re.compile(r"/selection$"))
    assert "Votre sélection est vide" in page.locator("main").inner_text()
