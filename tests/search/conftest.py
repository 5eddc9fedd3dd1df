"""The contract suite runs on every engine: PostgreSQL always, Meilisearch when
MEILISEARCH_URL names a server (docker compose up meilisearch)."""

from __future__ import annotations

import os
import uuid

import pytest

from search.contract import SearchQuery
from search.service import EngineOptions, bind_engine

LAON = "02408"  # EPCI 200043495, département 02
CHIVY = "02191"  # same EPCI as Laon, 4 km
BARENTON = "02046"  # another EPCI, 7 km from Laon
REIMS = "51454"  # département 51, 47 km from Laon
HIRSON = "02381"  # département 02, 53 km from Laon
LAON_EPCI = "200043495"
LAON_POINT = "SRID=4326;POINT(3.6244 49.5641)"
MARSEILLE_POINT = "SRID=4326;POINT(5.3698 43.2965)"


@pytest.fixture(params=["postgres", "meilisearch"])
def backend_name(request):
    if request.param == "meilisearch" and not os.environ.get("MEILISEARCH_URL"):
        pytest.skip("MEILISEARCH_URL n'est pas défini : pas de serveur Meilisearch pour ce cas")
    return request.param


@pytest.fixture
def search(backend_name, db):
    """search(**SearchQuery fields) -> SearchPage on the engine under test, after
    indexing what the test wrote (Meilisearch: a throw-away index)."""
    index = f"test_{uuid.uuid4().hex[:8]}"
    made = []

    def run(**fields):
        db.flush()
        backend = bind_engine(backend_name, EngineOptions(
            url=os.environ.get("MEILISEARCH_URL", ""),
            key=os.environ.get("MEILISEARCH_KEY", ""),
            index=index,
        ))(db)
        if backend_name == "meilisearch":
            from search.documents import all_documents

            backend.rebuild(all_documents(db), wait=True)
            made.append(backend)
        return backend.search(SearchQuery(**fields))

    yield run
    for backend in made[:1]:
        backend.drop_index()
