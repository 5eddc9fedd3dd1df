"""The place of an offer located through the BAN geocoder (a local stand-in
server), and forms refused without their CSRF token."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select, text

from catalogue.models import LocationPrecision, Service, Status
from tests.web.backoffice.conftest import log_in, post, text_of


class _Ban(BaseHTTPRequestHandler):
    asked: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        query = parse_qs(urlparse(self.path).query)
        _Ban.asked.append(query)
        body = {"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": {"type": "Point", "coordinates": [3.6199, 49.5633]},
            "properties": {"score": 0.91, "type": "housenumber", "label": "12 Rue Sérurier 02000 Laon"},
        }]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def ban(app):
    server = HTTPServer(("127.0.0.1", 0), _Ban)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = app.extensions["offre"]["settings"]
    app.extensions["offre"]["settings"] = settings.replace(geocoder_url=f"http://127.0.0.1:{server.server_port}")
    _Ban.asked = []
    yield _Ban
    server.shutdown()


def test_address_is_geocoded_when_the_point_was_not_moved(client, db, world, ban):
    log_in(client, world["users"]["membre_b"])
    r = post(client, f"/espace/structures/{world['b'].id}/services/nouveau", {
        "nom": "Accueil emploi", "thematiques": ["mobilite--preparer-un-permis"], "commune": "Laon",
        "adresse": "12 rue Sérurier", "frequence_maj_jours": "180", "action": "brouillon",
    })
    assert r.status_code == 302, text_of(r)[:2000]
    assert ban.asked and ban.asked[0]["q"] == ["12 rue Sérurier"] and ban.asked[0]["citycode"] == ["02408"]
    s = db.scalars(select(Service).where(Service.nom == "Accueil emploi")).one()
    assert s.location_precision == LocationPrecision.ADRESSE
    lon, lat = db.execute(text("SELECT ST_X(location::geometry), ST_Y(location::geometry) FROM service WHERE id = :i"),
                          {"i": s.id}).one()
    assert (round(lon, 4), round(lat, 4)) == (3.6199, 49.5633)
    # Saved again without touching the address: no new question to the BAN.
    page = text_of(client.get(f"/espace/services/{s.id}/modifier"))
    assert 'value="49.563300"' in page
    asked = len(ban.asked)
    post(client, f"/espace/services/{s.id}/modifier", {
        "nom": "Accueil emploi", "thematiques": ["mobilite--preparer-un-permis"], "commune": "Laon (02408)",
        "adresse": "12 rue Sérurier", "frequence_maj_jours": "180", "action": "brouillon",
        "latitude": "49.563300", "longitude": "3.619900", "latitude_origine": "49.563300", "longitude_origine": "3.619900",
    })
    assert len(ban.asked) == asked
    db.expire_all()
    assert db.get(Service, s.id).location_precision == LocationPrecision.ADRESSE


@pytest.mark.parametrize("path", ["modifier", "archiver", "confirmer", "dupliquer"])
def test_forms_without_csrf_token_are_refused(client, db, world, path):
    log_in(client, world["users"]["membre_b"])
    s = world["b_pub"]
    r = client.post(f"/espace/services/{s.id}/{path}", data={"nom": "Sans jeton", "action": "enregistrer"})
    assert r.status_code == 400 and "jeton CSRF" in text_of(r)
    db.expire_all()
    s = db.get(Service, s.id)
    assert (s.nom, s.status, s.confirmed_at) == ("Offre publiée de B", Status.PUBLIE, None)


def test_every_back_office_form_carries_a_csrf_token(client, world):
    log_in(client, world["users"]["moderateur"])
    for url in (f"/espace/structures/{world['b'].id}", f"/espace/services/{world['b_pub'].id}/modifier",
                f"/espace/structures/{world['b'].id}/services/nouveau", f"/espace/services/{world['b_draft'].id}/apercu"):
        page = text_of(client.get(url))
        forms = page.count('method="post"')
        assert forms > 0 and page.count('name="csrf_token"') == forms, url


def test_emptied_point_is_placed_again_from_the_commune(client, db, world):
    log_in(client, world["users"]["membre_b"])
    s = world["b_pub"]  # placed at Laon, precision « adresse »
    r = post(client, f"/espace/services/{s.id}/modifier", {
        "nom": s.nom, "thematiques": ["mobilite--preparer-un-permis"], "commune": "Saint-Quentin (02691)",
        "frequence_maj_jours": "180", "action": "enregistrer", "latitude": "", "longitude": "",
        "latitude_origine": "49.564100", "longitude_origine": "3.624400",
    })
    assert r.status_code == 302, text_of(r)[:1500]
    db.expire_all()
    s = db.get(Service, s.id)
    assert s.location_precision == LocationPrecision.COMMUNE
    lon = db.scalar(text("SELECT ST_X(location::geometry) FROM service WHERE id = :i"), {"i": s.id})
    assert round(lon, 1) == 3.3  # Saint-Quentin, not Laon (3.6)
