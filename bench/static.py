"""Static files a browser downloads for the public pages (issue #22, point 4): the
scripts, style sheets and icons each page cites, fetched from the application as a
browser would on a first visit, with no compression, with gzip, with brotli.

    .venv/bin/python bench/static.py

The pages are served from a fresh database of the test cluster (migrations and
référentiel, tests/dbsetup.py), dropped at the end. Images that a style sheet cites (Leaflet's) are loaded
only when shown and left out. It prints its figures; it is not a test.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import siblings  # noqa: E402  (bench/, beside this script)

PAGES = ["/", "/recherche", "/carte"]
ENCODINGS = [("brut", None), ("gzip", "gzip"), ("brotli", "br")]


def cited(html: str) -> list[str]:
    """The static URLs of the page's <script src> and <link href>, in order, once each."""
    urls = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="(/static/[^"]+)"', html)
    return list(dict.fromkeys(urls))


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    hostspeed = siblings.load("hostspeed")
    from tests import dbsetup

    server = dbsetup.server_url()
    url = dbsetup.create_test_database(server, dbsetup.build_template(server), label="bench_static_")
    try:
        _measure(url, hostspeed)
    finally:
        dbsetup.drop_database(server, url)


def _measure(url: str, hostspeed) -> None:
    from web.app import create_app
    from web.settings import Settings

    app = create_app(Settings(database_url=url, tiles_url="", offre_env="development"))
    client = app.test_client()
    print(f"static files per page, first visit (bytes on the wire; {hostspeed.describe()})")
    print(f"  {'page':<32} {'files':>5} " + " ".join(f"{label:>10}" for label, _ in ENCODINGS) + "   served in")
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)
        urls = cited(response.get_data(as_text=True))
        sizes = []
        t0 = time.perf_counter()
        for _, encoding in ENCODINGS:
            total = 0
            for u in urls:
                r = client.get(u, headers={"Accept-Encoding": encoding} if encoding else {})
                assert r.status_code == 200, (u, r.status_code)
                assert r.headers.get("Content-Encoding") in (encoding, None), u
                total += len(r.data)
            sizes.append(total)
        ms = (time.perf_counter() - t0) * 1000 / (len(urls) * len(ENCODINGS) or 1)
        hashed = sum(bool(re.search(r"-[0-9a-f]{32}\.", u)) for u in urls)
        print(f"  {page:<32} {len(urls):>5} " + " ".join(f"{s / 1024:>7.1f} KiB" for s in sizes)
              + f"   {ms:.2f} ms/file; {hashed}/{len(urls)} hashed names")
    app.extensions["offre"]["engine"].dispose()


if __name__ == "__main__":
    main()
