"""Geocoder: offline commune centre; BAN client (against a local fake BAN) used only
when a URL is given, falling back below its score threshold or when it fails."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text

from geo.geocoding import BanGeocoder, CommuneCentreGeocoder, make_geocoder

POINT = (3.4021, 49.0463)  # rue de la Paix, Château-Thierry (made up for the fake)


class FakeBan:
    """Answers /search/ like the BAN: the score comes from the address text."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.requests.append({"path": url.path, **params})
                if fake.status != 200:
                    self.send_response(fake.status)
                    self.end_headers()
                    return
                score = 0.3 if "vague" in params.get("q", "") else 0.92
                features = [] if "introuvable" in params.get("q", "") else [{
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": list(POINT)},
                    "properties": {"score": score, "citycode": params.get("citycode"), "label": params["q"]},
                }]
                body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ban():
    with FakeBan() as fake:
        yield fake


def _centre(db, code):
    return tuple(db.execute(text(
        "SELECT ST_X(centre::geometry), ST_Y(centre::geometry) FROM geo_commune WHERE code = :c"
    ), {"c": code}).one())


def test_offline_is_the_commune_centre_marked_approximate(db):
    geocoder = make_geocoder(db, "")
    assert isinstance(geocoder, CommuneCentreGeocoder)
    found = geocoder.locate("2 rue de la Paix", "02168")
    assert (found.lon, found.lat) == _centre(db, "02168")
    assert found.precision == "commune" and found.approximate and found.score == 0
    assert geocoder.locate("2 rue de la Paix", "99999") is None
    assert geocoder.locate("2 rue de la Paix", None) is None


def test_no_url_no_session_no_geocoder():
    assert make_geocoder(None, "") is None


def test_ban_address_and_citycode_give_a_point_and_a_score(db, ban):
    geocoder = make_geocoder(db, ban.url)
    assert isinstance(geocoder, BanGeocoder)
    found = geocoder.locate("2 rue de la Paix", "02168")
    assert (found.lon, found.lat) == POINT and found.score == pytest.approx(0.92)
    assert found.precision == "adresse" and not found.approximate
    assert ban.requests == [{"path": "/search/", "q": "2 rue de la Paix", "citycode": "02168", "limit": "1"}]
    # Asked once: the answer is cached.
    geocoder.locate("2 rue de la Paix", "02168")
    assert len(ban.requests) == 1


def test_ban_below_threshold_falls_back_to_the_commune_centre(db, ban):
    geocoder = make_geocoder(db, ban.url + "/search/")
    found = geocoder.locate("quelque part vague", "02168")
    assert found.precision == "commune" and (found.lon, found.lat) == _centre(db, "02168")
    assert ban.requests[0]["path"] == "/search/"
    found = geocoder.locate("adresse introuvable", "02168")
    assert found.precision == "commune"
    # Without a fallback (no session), a low score finds nothing.
    assert make_geocoder(None, ban.url).locate("quelque part vague", "02168") is None


def test_ban_failure_falls_back_and_is_asked_again(db, ban):
    geocoder = make_geocoder(db, ban.url, min_score=0.5)
    ban.status = 503
    assert geocoder.locate("2 rue de la Paix", "02168").precision == "commune"
    ban.status = 200
    assert geocoder.locate("2 rue de la Paix", "02168").precision == "adresse"
    assert len(ban.requests) == 2


def test_ban_unreachable_falls_back(db):
    with FakeBan() as fake:
        url = fake.url
    geocoder = make_geocoder(db, url, timeout=1)
    assert geocoder.locate("2 rue de la Paix", "02168").precision == "commune"


def test_arrondissement_centre(db):
    found = make_geocoder(db, "").locate(None, "69381")
    assert found is not None and found.precision == "commune"
