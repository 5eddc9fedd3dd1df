"""GET /api/v1/services/search, the fallback when Meilisearch is down, the
listeners, the outbox sync, and the synonyms file."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from search import sync, textquery
from search.errors import InvalidQuery
from search.params import query_from_args
from search.postgres import PostgresBackend
from tests.search.conftest import LAON, MARSEILLE_POINT
from web import search_ as web_search

URL = "/api/v1/services/search"


def test_search_endpoint(client, factories):
    s = factories.ServiceFactory(nom="Garage solidaire", source="dora", source_id="d-1")
    factories.ServiceFactory(modes_accueil=["a-distance"], location=MARSEILLE_POINT)
    r = client.get(URL, query_string={"code_commune": LAON, "q": "garage", "size": 5})
    assert r.status_code == 200
    body = r.get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["size"] == 5
    item = body["items"][0]
    assert item["service"]["id"] == str(s.id)
    assert (item["service"]["source"], item["service"]["source_id"]) == ("dora", "d-1")
    assert item["service"]["structure"]["nom"] == s.structure.nom
    assert item["service"]["thematiques"] == ["mobilite--preparer-un-permis"]
    assert item["distance"] is not None and item["distance"] < 3000
    assert set(body["facets"]) >= {"thematiques_spie", "categories", "publics", "sources"}
    assert "next_cursor" in body


def test_search_response_is_what_its_schema_documents(client, factories):
    """The endpoint sends its dict without the schema's dump: dumping it through
    SearchResult must change nothing (no field missing from the spec, none extra)."""
    from web.api.search import SearchResult

    factories.ServiceFactory(nom="Garage solidaire", confirmed_at=None)
    factories.ServiceFactory(modes_accueil=["a-distance"], location=MARSEILLE_POINT, horaires_accueil="Mo-Fr 09:00-12:00")
    body = client.get(URL, query_string={"code_commune": LAON, "size": 5}).get_json()
    assert len(body["items"]) == 2
    assert SearchResult().dump(body) == body


def test_lists_repeated_or_comma_separated(client, factories):
    a = factories.ServiceFactory(type="atelier")
    b = factories.ServiceFactory(type="formation")
    factories.ServiceFactory(type="information")
    for qs in ("types=atelier&types=formation", "types=atelier,formation"):
        body = client.get(f"{URL}?{qs}").get_json()
        assert {i["service"]["id"] for i in body["items"]} == {str(a.id), str(b.id)}


def test_remote_item_has_no_distance(client, factories):
    factories.ServiceFactory(modes_accueil=["a-distance"], location=None)
    body = client.get(URL, query_string={"code_commune": LAON}).get_json()
    assert body["items"][0]["distance"] is None


def test_cursor_walk(client, factories):
    made = {str(factories.ServiceFactory().id) for _ in range(5)}
    seen, cursor = [], None
    while True:
        qs = {"size": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get(URL, query_string=qs).get_json()
        seen += [i["service"]["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made)


@pytest.mark.parametrize(
    ("qs", "param"),
    [
        ("rayon_km=abc", "rayon_km"),
        ("rayon_km=500", "rayon_km"),
        ("size=501", "size"),
        ("page=0", "page"),
        ("thematiques=inconnue", "thematiques"),
        ("publics=martiens", "publics"),
        ("frais=cher", "frais"),
        ("types=x", "types"),
        ("modes_accueil=teleportation", "modes_accueil"),
        ("code_commune=99999", "code_commune"),
        ("code_commune=abc", "code_commune"),
        ("lat=49.5", "lon"),
        ("lat=10&lon=10", "lat"),
        ("ouvert_le=demain", "ouvert_le"),
        ("tri=hasard", "tri"),
        ("tri=distance", "tri"),
        ("structure=pas-un-uuid", "structure"),
        ("territoire=inconnu", "territoire"),
        ("exclure_doublons=peut-etre", "exclure_doublons"),
        ("cursor=zzz", "cursor"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, qs, param):
    r = client.get(f"{URL}?{qs}")
    assert r.status_code == 400, r.get_json()
    assert r.content_type == "application/problem+json"
    body = r.get_json()
    assert param in body["errors"], body
    assert body["detail"].startswith(param)


def test_openapi_describes_the_endpoint(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/services/search"]["get"]
    names = {p["name"] for p in op["parameters"]}
    assert {"code_commune", "lat", "lon", "thematiques", "publics", "frais", "types", "modes_accueil",
            "sources", "page", "size", "exclure_doublons", "q", "rayon_km", "mobilisable_par",
            "structure", "territoire", "ouvert_le", "tri", "cursor"} <= names
    assert "200" in op["responses"] and "400" in op["responses"]


def test_query_from_args_defaults():
    q = query_from_args(MultiDict(), default_radius_km=30)
    assert q.radius_km == 30 and q.hide_duplicates and q.page == 1 and q.size == 20
    q = query_from_args(MultiDict({"exclure_doublons": "false", "ouvert_le": "2026-10-05T10:00:00+00:00"}))
    assert not q.hide_duplicates and q.open_at.hour == 12  # Paris time in October
    with pytest.raises(InvalidQuery):
        query_from_args(MultiDict({"q": "x" * 300}))


def test_meilisearch_down_falls_back_to_postgres(app, client, factories, caplog):
    s = factories.ServiceFactory()
    settings = app.extensions["offre"]["settings"]
    web_search.use_settings(app, settings.replace(search_backend="meilisearch", meilisearch_url="http://127.0.0.1:9"))
    r = client.get(URL, query_string={"code_commune": LAON})
    assert r.status_code == 200
    assert r.get_json()["items"][0]["service"]["id"] == str(s.id)
    assert "PostgreSQL answers instead" in caplog.text
    health = client.get("/healthz").get_json()
    assert health["search"]["status"] == "degraded" and health["status"] == "degraded"


def test_listeners_called_and_failures_contained(app, client, factories, monkeypatch):
    calls = []

    def good(query, page):
        calls.append((query.text, page.total))

    def bad(query, page):
        raise RuntimeError("boom")

    monkeypatch.setattr(web_search.service(app), "listeners", [bad, good])
    factories.ServiceFactory(nom="Garage solidaire")
    r = client.get(URL, query_string={"q": "garage"})
    assert r.status_code == 200
    assert calls == [("garage", 1)]


def test_sync_applies_and_deletes_outbox_rows(db, factories):
    db.execute(text("UPDATE search_engine_state SET engine = 'meilisearch', outbox_enabled = true"))
    s = factories.ServiceFactory()
    db.flush()

    class Recorder(PostgresBackend):
        indexed: list = []
        deleted: list = []

        def index(self, documents):
            self.indexed.extend(d.id for d in documents)

        def delete(self, ids):
            self.deleted.extend(ids)

    backend = Recorder(db)
    result = sync.sync_once(db, backend, batch=10_000)
    assert s.id in backend.indexed and result.rows >= 1
    assert db.scalar(text("SELECT count(*) FROM search_outbox")) == 0
    s.status = s.status.ARCHIVE
    db.flush()
    sync.sync_once(db, backend)
    assert s.id in backend.deleted


def test_backoff_doubles_up_to_a_cap():
    delays = sync.backoff_delays(1, 8)
    assert [next(delays) for _ in range(6)] == [1, 2, 4, 8, 8, 8]


def test_synonyms_file():
    table = textquery.synonyms()
    for key in ("permis", "creche", "nounou", "cv", "rsa", "surendettement", "fle", "aide alimentaire"):
        assert key in table, key
    assert "garde d'enfants" in table["creche"]
    groups = textquery.split_groups("Aide alimentaire à Laon")
    assert groups[0].term == "aide alimentaire" and "épicerie solidaire" in groups[0].alternatives
    assert [g.term for g in groups[1:]] == ["a", "laon"]
