"""The public map (/carte): groups computed by the server for one view (bbox, zoom),
bounded whatever the catalogue; the département shown by default and the whole
country on demand; the list by commune, paginated; bad parameters refused."""

from __future__ import annotations

import gzip
import re

import pytest
from sqlalchemy import text

from catalogue import map_queries as mq
from catalogue import vocabulary
from catalogue.models import Status

AISNE = "2.9,48.8,4.3,50.1"
FRANCE = "-5.2,41.3,9.6,51.1"
# (lon, lat, code_insee, commune)
PLACES = [
    (3.6244, 49.5641, "02408", "Laon"), (3.6244, 49.5641, "02408", "Laon"),  # two offers at one place
    (3.3237, 49.3817, "02722", "Soissons"), (3.2876, 49.8465, "02691", "Saint-Quentin"),
    (3.3994, 49.0464, "02168", "Château-Thierry"), (2.3522, 48.8566, "75056", "Paris"),
]


def text_of(response) -> str:
    return response.get_data(as_text=True)


def _expected(db, bbox: str, departement: str | None = None, thematiques: list[str] | None = None) -> int:
    """Offers the map must count in a box, written independently of map_queries."""
    w, s, e, n = (float(v) for v in bbox.split(","))
    return db.scalar(text(
        "SELECT count(*) FROM service s JOIN structure st ON st.id = s.structure_id "
        "LEFT JOIN geo_commune c ON c.code = s.code_insee "
        "WHERE s.status = 'publie' AND st.status = 'publie' AND s.location IS NOT NULL AND NOT s.duplicate_hidden "
        "AND ST_X(s.location::geometry) BETWEEN :w AND :e AND ST_Y(s.location::geometry) BETWEEN :s AND :n "
        "AND (CAST(:d AS text) IS NULL OR c.departement_code = :d) "
        "AND (CAST(:t AS text[]) IS NULL OR s.thematiques && CAST(:t AS text[]))"
    ), {"w": w, "s": s, "e": e, "n": n, "d": departement, "t": thematiques})


@pytest.fixture
def offers(factories, db):
    made = [factories.ServiceFactory(location=f"SRID=4326;POINT({x} {y})", code_insee=code, commune=nom,
                                     thematiques=["mobilite--preparer-un-permis"] if i % 2 else
                                     ["logement-hebergement--louer-un-logement"])
            for i, (x, y, code, nom) in enumerate(PLACES)]
    hidden = factories.StructureFactory(nom="Structure archivée", status=Status.ARCHIVE)
    made.append(factories.ServiceFactory(structure=hidden, thematiques=["mobilite--preparer-un-permis"]))
    factories.ServiceFactory(location=None, modes_accueil=["a-distance"])
    db.commit()
    return made


def _groups(client, query: str) -> dict:
    response = client.get(f"/carte/groupes.json?{query}")
    assert response.status_code == 200, text_of(response)
    return response.get_json()


def _count(body: dict) -> int:
    return sum(c[2] for c in body["clusters"]) + sum(p[3] for p in body["points"])


@pytest.mark.parametrize("zoom", [5, 8, 11, 14, 18])
def test_counts_add_up_to_the_offers_in_the_box_at_every_zoom(client, db, offers, zoom):
    for departement, bbox in (("france", FRANCE), ("02", AISNE), ("02", "3.5,49.5,3.7,49.6")):
        body = _groups(client, f"departement={departement}&zoom={zoom}&bbox={bbox}")
        expected = _expected(db, bbox, None if departement == "france" else departement)
        assert _count(body) == body["total"] == expected, (departement, bbox)
        assert not body["truncated"]
    assert _expected(db, FRANCE) >= len(PLACES)


def test_groups_split_as_one_zooms_in_and_a_place_gives_its_offer(client, db, offers):
    far = _groups(client, f"departement=02&zoom=6&bbox={AISNE}")
    near = _groups(client, "departement=02&zoom=18&bbox=3.62,49.56,3.63,49.57")
    assert len(far["clusters"]) + len(far["points"]) < len(near["clusters"]) + len(near["points"]) + 4
    laon = [p for p in near["points"] if abs(p[0] - 3.6244) < 1e-4 and abs(p[1] - 49.5641) < 1e-4]
    assert laon and laon[0][3] >= 2  # two offers at one place: one marker, its count
    popup = client.get(f"/carte/offres/{laon[0][2]}.json").get_json()
    assert popup["url"].startswith("/services/") and len(popup["meme_lieu"]) == laon[0][3] - 1
    assert all(m["url"] == f"/services/{m['id']}" for m in popup["meme_lieu"])
    for c in far["clusters"]:  # a group's extent holds its centre
        assert c[3] <= c[0] <= c[5] and c[4] <= c[1] <= c[6]


def test_filters_thematique_departement_and_hidden_structures(client, db, offers):
    mob = _groups(client, f"departement=france&thematique=mobilite&zoom=18&bbox={FRANCE}")
    ids = {p[2] for p in mob["points"]}
    assert offers[1].id.hex in ids or offers[0].id.hex in ids  # Laon's place: the smaller id of two
    assert offers[2].id.hex not in ids  # logement
    assert offers[-1].id.hex not in ids  # an archived structure's offer
    assert _count(mob) == _expected(db, FRANCE, thematiques=vocabulary.expand_thematiques(["mobilite"]))
    aisne = _groups(client, f"departement=02&zoom=18&bbox={FRANCE}")
    assert offers[5].id.hex not in {p[2] for p in aisne["points"]}  # Paris is not in the Aisne
    france = _groups(client, f"departement=france&zoom=18&bbox={FRANCE}")
    assert offers[5].id.hex in {p[2] for p in france["points"]}


def test_a_response_is_bounded_whatever_the_box(client, offers):
    body = _groups(client, "departement=france&zoom=18&bbox=-180,-85,180,85")
    assert len(body["clusters"]) + len(body["points"]) <= mq.MAX_ROWS
    body = _groups(client, "departement=france&zoom=12&bbox=-180,-85,180,85")  # a box far larger than a screen
    assert len(body["clusters"]) + len(body["points"]) <= (mq.MAX_CELLS + 1) ** 2
    zipped = client.get(f"/carte/groupes.json?zoom=8&bbox={AISNE}", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data).startswith(b"{")
    etag = zipped.headers["ETag"].strip('"')
    assert client.get(f"/carte/groupes.json?zoom=8&bbox={AISNE}",
                      headers={"If-None-Match": f'"{etag}"'}).status_code == 304


@pytest.mark.parametrize("query, field", [
    ("zoom=8", "bbox"), (f"bbox={AISNE}", "zoom"), (f"zoom=19&bbox={AISNE}", "zoom"),
    (f"zoom=x&bbox={AISNE}", "zoom"), ("zoom=8&bbox=1,2,3", "bbox"), ("zoom=8&bbox=4,49,3,50", "bbox"),
    ("zoom=8&bbox=1,2,3,nan", "bbox"), ("zoom=8&bbox=0,0,1,95", "bbox"),
    (f"zoom=8&bbox={AISNE}&departement=99", "departement"), (f"zoom=8&bbox={AISNE}&departement=0%00", "departement"),
    (f"zoom=8&bbox={AISNE}&thematique=licornes", "thematique"),
])
def test_bad_parameters_are_refused_naming_the_field(client, query, field):
    response = client.get(f"/carte/groupes.json?{query}")
    assert response.status_code == 400 and f"{field} :" in text_of(response)


def test_page_shows_the_deploying_departement_and_can_widen(client, offers):
    page = text_of(client.get("/carte"))
    assert '<option value="02" selected>' in page and '<option value="france">Toute la France</option>' in page
    assert "/carte/groupes.json?departement=02" in page
    w, s, e, n = (float(v) for v in re.search(r'data-bounds="([^"]+)"', page).group(1).split(","))
    assert w < 3.62 < e and s < 49.56 < n and e - w < 3  # around the Aisne, not the whole country
    assert ">Paris</a>" not in page and re.search(r">Laon</a> : \d+ offres? sur place", page)
    wide = text_of(client.get("/carte?departement=france"))
    assert '<option value="france" selected>' in wide and ">Paris</a>" in wide
    assert 'data-bounds="-5.2,41.3,9.6,51.1"' in wide
    mob = text_of(client.get("/carte?thematique=mobilite"))
    assert "/carte/groupes.json?thematique=mobilite&amp;departement=02" in mob


def test_list_by_commune_is_paginated(client, db, offers, monkeypatch):
    monkeypatch.setattr(mq, "PAGE_SIZE", 2)
    communes = db.scalar(text(
        "SELECT count(DISTINCT s.code_insee) FROM service s JOIN structure st ON st.id = s.structure_id "
        "JOIN geo_commune c ON c.code = s.code_insee WHERE s.status = 'publie' AND st.status = 'publie' "
        "AND s.location IS NOT NULL AND NOT s.duplicate_hidden AND c.departement_code = '02'"))
    pages = -(-communes // 2)
    assert pages >= 2
    seen = []
    for number in range(1, pages + 1):
        page = text_of(client.get(f"/carte?page={number}"))
        names = re.findall(r'<li><a href="/recherche\?code_commune=\d+">([^<]+)</a> :', page)
        assert 1 <= len(names) <= 2
        seen += names
        assert f"Page {number} sur {pages}." in page
        assert f"Par commune ({communes} communes)" in page
    assert len(seen) == len(set(seen)) == communes
    first = text_of(client.get("/carte?page=1&thematique=mobilite"))
    if "Page 1 sur 1." not in first and "Page 1 sur" in first:
        assert "page=2&amp;thematique=mobilite&amp;departement=02#liste" in first
    assert 'rel="next"' in text_of(client.get("/carte?page=1"))
    beyond = client.get(f"/carte?page={pages + 1}")
    assert beyond.status_code == 400 and "page :" in text_of(beyond)
    assert client.get("/carte?page=0").status_code == 400
    assert client.get("/carte?departement=licorne").status_code == 400


def test_a_commune_associee_counts_in_its_own_departement(client, db, factories):
    # Escaufourt (02285) is a commune associée of Saint-Souplet, in the Nord (59).
    assert db.scalar(text("SELECT departement_code FROM geo_commune WHERE code = '02285'")) == "59"
    service = factories.ServiceFactory(code_insee="02285", commune="Escaufourt",
                                       location="SRID=4326;POINT(3.5668 50.0620)")
    db.commit()
    query = "zoom=18&bbox=3.5,50.0,3.6,50.1&departement="
    assert service.id.hex in {p[2] for p in _groups(client, query + "59")["points"]}
    assert service.id.hex not in {p[2] for p in _groups(client, query + "02")["points"]}
    assert _count(_groups(client, query + "02")) == _expected(db, "3.5,50.0,3.6,50.1", "02")
