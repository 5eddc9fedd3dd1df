"""Static files (issue #22, point 4): the pages cite them under names hashed from
their content (bin/digest-assets, run by `make assets`), served compressed (.br or .gz
as Accept-Encoding asks, `Vary: Accept-Encoding`) and cached a year as immutable; the
plain names still answer (Leaflet's CSS cites its images so), briefly cached with an ETag."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import brotli
import pytest

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(scope="module")
def manifest() -> dict[str, str]:
    path = STATIC / "cache_manifest.json"
    assert path.is_file(), "web/static/cache_manifest.json absent : lancez `make assets`"
    return json.loads(path.read_text())


def _cited(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', page)


def test_pages_cite_hashed_names_that_come_compressed_and_immutable(client, manifest):
    cited = _cited(client.get("/").get_data(as_text=True))
    site = "/static/" + manifest["css/site.css"]
    assert re.fullmatch(r"/static/css/site-[0-9a-f]{32}\.css", site) and site in cited
    assert all(url[len("/static/"):] in manifest.values() for url in cited), cited
    source = (STATIC / "css/site.css").read_bytes()
    for encoding, decompress in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        response = client.get(site, headers={"Accept-Encoding": f"{encoding}, deflate"})
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == encoding
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.headers["Vary"] == "Accept-Encoding"
        assert response.headers["Content-Type"].startswith("text/css")
        assert len(response.data) < len(source) / 2 and decompress(response.data) == source
    # The browser's usual header: brotli, the smaller one, is chosen.
    response = client.get(site, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers["Content-Encoding"] == "br"


def test_vendored_scripts_too(client, manifest):
    url = "/static/" + manifest["vendor/leaflet/leaflet.js"]
    response = client.get(url, headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br" and response.headers["Cache-Control"] == IMMUTABLE
    assert brotli.decompress(response.data) == (STATIC / "vendor/leaflet/leaflet.js").read_bytes()
    # The security headers of the pages (nosniff above all) come with the files.
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_without_accept_encoding_the_plain_bytes(client, manifest):
    response = client.get("/static/" + manifest["js/static-map.js"])
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert response.data == (STATIC / "js/static-map.js").read_bytes()


def test_plain_names_answer_with_a_short_cache_and_an_etag(client):
    # Leaflet's CSS cites images/layers.png relatively: the plain name is still served.
    response = client.get("/static/vendor/leaflet/images/layers.png", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers  # PNG: not recompressed
    assert response.headers["Cache-Control"] == "max-age=300, public"
    again = client.get("/static/vendor/leaflet/images/layers.png",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    css = client.get("/static/css/site.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip" and "immutable" not in css.headers["Cache-Control"]


@pytest.mark.parametrize("path", ["/static/inconnu.css", "/static/css/site-0123456789abcdef0123456789abcdef.css",
                                  "/static/../web/app.py", "/static/cache_manifest.json.br"])
def test_unknown_static_files_are_404(client, path):
    assert client.get(path, headers={"Accept-Encoding": "br"}).status_code == 404
