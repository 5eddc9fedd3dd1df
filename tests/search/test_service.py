"""The search service (search/service.py): built once per app, its registry, its
fallback policy, its health through check(), the search log written after the
request in a transaction of its own, and the one schema of a search's parameters."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from catalogue.cto import SearchLog
from search import service as service_module
from search.contract import SearchPage, SearchQuery
from search.errors import InvalidQuery, SearchUnavailable, UnsupportedFilter
from search.params import SearchArgs
from search.postgres import PostgresBackend
from search.service import (
    ENGINES,
    EngineOptions,
    SearchService,
    UnknownEngine,
    bind_engine,
    engine_class,
)
from tests.search.conftest import LAON
from web import search_ as web_search

URL = "/api/v1/services/search"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeEngine:
    """An external engine whose answers the test decides."""

    name = "fake"
    failure: Exception | None = None
    check_failure: Exception | None = None
    checks = 0
    searches = 0

    def __init__(self, session):
        self.session = session

    @classmethod
    def connect(cls, options):
        return cls

    def search(self, query):
        type(self).searches += 1
        if self.failure is not None:
            raise self.failure
        return SearchPage(hits=(), total=-1, page=query.page, size=query.size)

    def check(self):
        type(self).checks += 1
        if self.check_failure is not None:
            raise self.check_failure


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(ENGINES, "fake", FakeEngine)
    for name, value in (("failure", None), ("check_failure", None), ("checks", 0), ("searches", 0)):
        monkeypatch.setattr(FakeEngine, name, value)
    return FakeEngine


# --- built once ----------------------------------------------------------------------

def test_the_service_is_built_once_per_app(app, client, factories, monkeypatch):
    factories.ServiceFactory(nom="Garage solidaire")
    built = app.extensions["offre"]["search"]
    constructed = []
    original = SearchService.__init__

    def counting(self, *args, **kwargs):
        constructed.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(SearchService, "__init__", counting)
    seen = []
    built.listen(lambda query, page: seen.append(web_search.service()))
    for _ in range(3):
        assert client.get(URL, query_string={"q": "garage"}).status_code == 200
    assert client.get("/recherche", query_string={"q": "garage"}).status_code == 200
    assert len(seen) == 4 and all(s is built for s in seen)
    assert constructed == []  # no service, no engine set up again, during requests


def test_the_engine_is_connected_once_not_per_search(app, client, fake, monkeypatch):
    connected = []

    def connect(cls, options):
        connected.append(options)
        return cls

    monkeypatch.setattr(FakeEngine, "connect", classmethod(connect))
    web_search.use_settings(app, app.extensions["offre"]["settings"].replace(search_backend="fake"))
    for _ in range(3):
        assert client.get(URL).status_code == 200
    assert fake.searches == 3 and len(connected) == 1


def test_the_cli_builds_it_from_the_settings_without_flask(settings):
    service = SearchService.from_settings(settings)
    assert service.name == "postgres" and not service.external and service.refused is None


# --- the registry --------------------------------------------------------------------

def test_the_registry_names_its_engines():
    assert engine_class("postgres") is PostgresBackend
    assert set(ENGINES) >= {"postgres", "meilisearch"}


def test_the_registry_refuses_an_unknown_engine_clearly():
    with pytest.raises(UnknownEngine) as caught:
        engine_class("elasticsearch")
    message = str(caught.value)
    assert "moteur de recherche inconnu" in message and "« elasticsearch »" in message
    assert "SEARCH_BACKEND" in message and "meilisearch, postgres" in message
    with pytest.raises(UnknownEngine):
        bind_engine("elasticsearch")


def test_meilisearch_without_its_url_is_refused_at_setup():
    with pytest.raises(service_module.SearchError, match="MEILISEARCH_URL"):
        bind_engine("meilisearch", EngineOptions(url=""))


def test_an_unknown_engine_leaves_postgres_answering(app, db, factories, caplog):
    s = factories.ServiceFactory()
    db.flush()
    service = SearchService("elasticsearch")
    assert isinstance(service.refused, UnknownEngine)
    page = service.search(db, SearchQuery(code_commune=LAON), log=False)
    assert [h.id for h in page.hits] == [s.id]
    assert "PostgreSQL answers instead" in caplog.text
    health = service.health(app.extensions["offre"]["sessionmaker"])
    assert health["status"] == "degraded" and "elasticsearch" in health["error"]


# --- the fallback policy -------------------------------------------------------------

def test_the_configured_engine_answers_when_it_can(db, fake):
    service = SearchService("fake")
    assert service.search(db, SearchQuery(), log=False).total == -1
    assert fake.searches == 1 and service.fallback_at is None


def test_unavailable_engine_falls_back_to_postgres_and_degrades_for_a_while(app, db, factories, fake):
    s = factories.ServiceFactory()
    db.flush()
    clock = Clock()
    answered = []
    service = SearchService("fake", clock=clock, observe=lambda engine, seconds: answered.append(engine))
    fake.failure = SearchUnavailable("en panne")
    page = service.search(db, SearchQuery(code_commune=LAON), log=False)
    assert [h.id for h in page.hits] == [s.id] and answered == ["postgres"]
    sessions = app.extensions["offre"]["sessionmaker"]
    health = service.health(sessions)
    assert health == {"status": "degraded", "backend": "fake", "answering": "postgres", "error": "en panne"}
    clock.now += service_module.FALLBACK_DEGRADED_S + 1
    assert service.health(sessions) == {"status": "ok", "backend": "fake"}


def test_unsupported_filter_goes_to_postgres_without_degrading(db, factories, fake):
    factories.ServiceFactory()
    db.flush()
    service = SearchService("fake")
    fake.failure = UnsupportedFilter("ouvert_le")
    assert service.search(db, SearchQuery(), log=False).total == 1
    assert service.fallback_at is None


def test_postgres_unavailable_is_not_hidden(db, monkeypatch):
    def down(self, query):
        raise SearchUnavailable("base de données injoignable")

    monkeypatch.setattr(PostgresBackend, "search", down)
    with pytest.raises(SearchUnavailable):
        SearchService("postgres").search(db, SearchQuery(), log=False)


def test_invalid_query_propagates(db, fake):
    fake.failure = InvalidQuery("code_commune", "commune inconnue : 99999")
    with pytest.raises(InvalidQuery):
        SearchService("fake").search(db, SearchQuery(), log=False)


def test_listeners_are_registered_once(db):
    service = SearchService()
    calls = []

    def listener(query, page):
        calls.append(page.total)

    service.listen(listener)
    service.listen(listener)
    service.search(db, SearchQuery(), log=True)
    service.search(db, SearchQuery(), log=False)
    assert calls == [0]


# --- health through check() ----------------------------------------------------------

def test_healthz_calls_the_engines_check(app, client, fake):
    web_search.use_settings(app, app.extensions["offre"]["settings"].replace(search_backend="fake"))
    body = client.get("/healthz").get_json()
    assert fake.checks == 1 and body["search"] == {"status": "ok", "backend": "fake"}
    fake.check_failure = SearchUnavailable("clé refusée")
    response = client.get("/healthz")
    assert response.status_code == 200 and fake.checks == 2
    assert response.get_json()["search"] == {
        "status": "degraded", "backend": "fake", "answering": "postgres", "error": "clé refusée"}


# --- rebuild: the contract says int, the engine returns int --------------------------

def test_rebuild_returns_the_documents_indexed(app, db, factories):
    for _ in range(3):
        factories.ServiceFactory()
    db.flush()
    count = SearchService().rebuild(app.extensions["offre"]["sessionmaker"])
    assert isinstance(count, int) and count >= 3


# --- no commit inside a GET ----------------------------------------------------------

def test_a_search_never_commits_the_requests_session(app, client, db, factories):
    factories.ServiceFactory(nom="Garage solidaire")
    db.flush()
    committed: list[Session] = []  # the sessions themselves (an id could be reused)
    during: dict = {}

    def on_commit(session):
        committed.append(session)

    def look(query, page):
        # Runs after the search log's listener, inside the request.
        session = web_search.get_session()
        during["session"] = session
        during["rows"] = session.scalar(select(func.count()).select_from(SearchLog))

    web_search.service(app).listen(look)
    event.listen(Session, "after_commit", on_commit)
    try:
        for url, args in ((URL, {"q": "garage"}), ("/recherche", {"q": "garage", "code_commune": LAON})):
            committed.clear()
            before = db.scalar(select(func.count()).select_from(SearchLog))
            assert client.get(url, query_string=args).status_code == 200
            assert during["rows"] == before  # not written while the request runs
            assert db.scalar(select(func.count()).select_from(SearchLog)) == before + 1
            assert all(s is not during["session"] for s in committed)  # the request's session never committed
            assert len(committed) == 1  # the log's own short transaction
    finally:
        event.remove(Session, "after_commit", on_commit)
    rows = db.scalars(select(SearchLog).order_by(SearchLog.id)).all()
    assert [r.filters["origine"] for r in rows] == ["api", "site"]
    assert all("garage" not in str(r.filters) for r in rows)


def test_nothing_is_logged_when_the_request_fails(app, client, db, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("après la recherche")

    monkeypatch.setattr("web.api.search.search_page_dict", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.get(URL, query_string={"q": "garage"}).status_code == 500
    assert db.scalars(select(SearchLog)).all() == []


# --- the one schema of a search's parameters ----------------------------------------

@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ({"rayon_km": "abc"}, "rayon_km", "rayon en km : nombre attendu, reçu « abc »"),
        ({"rayon_km": "500"}, "rayon_km", "rayon en km : doit être entre 1 et 200, reçu 500"),
        ({"size": "501"}, "size", "doit être entre 1 et 500, reçu 501"),
        ({"page": "²"}, "page", "nombre entier attendu, reçu « ² »"),
        ({"lat": "49.5"}, "lon", "lat et lon vont ensemble : donnez les deux"),
        ({"lat": "10", "lon": "10"}, "lat", "le point (10.0, 10.0) est hors de France"),
        ({"thematiques": "mobilite,inconnue"}, "thematiques", "thématique inconnue : inconnue"),
        ({"code_commune": "abc"}, "code_commune", "code INSEE de commune invalide : « ABC » (5 caractères, ex. 02408)"),
        ({"tri": "distance"}, "tri", "le tri par distance demande une commune (code_commune) ou un point (lat, lon)"),
        ({"exclure_doublons": "peut-etre"}, "exclure_doublons", "true ou false attendu, reçu « peut-etre »"),
        ({"ouvert_le": "demain"}, "ouvert_le", "date et heure invalides : « demain » (attendu AAAA-MM-JJTHH:MM)"),
        (MultiDict([("q", "a"), ("q", "b")]), "q", "une seule valeur est attendue"),
    ],
)
def test_one_schema_one_message_everywhere(client, args, field, message):
    with pytest.raises(InvalidQuery) as caught:
        SearchArgs().query(MultiDict(args))
    assert (caught.value.field, caught.value.message) == (field, message)
    # The API and the results page say the same, naming the parameter.
    api = client.get(URL, query_string=args)
    assert api.status_code == 400 and api.content_type == "application/problem+json"
    assert api.get_json()["errors"] == {field: [message]}
    page = client.get("/recherche", query_string=args)
    assert page.status_code == 400 and page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert field in html and message.replace("'", "&#39;") in html


def test_the_schema_builds_the_query():
    query = SearchArgs(default_radius_km=lambda: 30).query(MultiDict([
        ("q", " garage "), ("types", "atelier,formation"), ("types", "atelier"), ("code_commune", "2a004"),
        ("exclure_doublons", "non"), ("tri", "distance"), ("page", ""), ("size", "5")]))
    assert query == SearchQuery(text="garage", types=("atelier", "formation"), code_commune="2A004",
                                radius_km=30, hide_duplicates=False, sort="distance", size=5)


def test_the_openapi_is_the_schemas(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    parameters = {p["name"]: p for p in spec["paths"][URL]["get"]["parameters"]}
    fields = SearchArgs().fields
    assert set(parameters) == set(fields)
    for name, field in fields.items():
        assert parameters[name]["description"] == field.metadata["description"], name
    assert parameters["size"]["schema"]["type"] == "integer"
    assert parameters["thematiques"]["schema"]["type"] == "array"
