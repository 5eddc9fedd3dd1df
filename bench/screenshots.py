"""Screenshots of the public pages as a person sees them: home, results, service and
map, at 390 px (a phone) and 1280 px (a desktop), in Debian's Chromium.

    .venv/bin/python bench/screenshots.py [--url http://127.0.0.1:5000] [--out var/screenshots]

Against a running service (`make run`); the files go to an ignored folder. Not a test:
it is for looking at the pages (`make screenshots`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
WIDTHS = (390, 1280)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--out", type=Path, default=ROOT / "var/screenshots")
    parser.add_argument("--commune", default="02408", help="code INSEE of the results page (default: Laon)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    results = f"/recherche?code_commune={args.commune}&thematiques=mobilite"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        probe = browser.new_page()
        try:
            probe.goto(urljoin(args.url, results))
        except Exception as exc:  # noqa: BLE001 - said in words below
            sys.exit(f"Le service ne répond pas sur {args.url} ({exc.__class__.__name__}) : lancez `make run`.")
        first = probe.locator(".result-title a").first
        service = first.get_attribute("href") if first.count() else None
        probe.close()
        pages = {"accueil": "/", "resultats": results, "carte": "/carte"}
        if service:
            pages["offre"] = service
        for width in WIDTHS:
            context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": 900})
            page = context.new_page()
            for name, path in pages.items():
                page.goto(urljoin(args.url, path))
                page.wait_for_timeout(300)
                target = args.out / f"{name}-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                wide = page.evaluate("document.documentElement.scrollWidth")
                print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}"
                      f"  ({wide} px de large pour {width})")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
