"""The Meilisearch engine (optional), with the official `meilisearch` client.

The catalogue stays the source of truth: documents are built by search.documents
and kept current from the outbox (search.sync). What Meilisearch cannot do
exactly — opening hours, keyset cursors, unpublished services — raises
UnsupportedFilter, and the web layer asks PostgreSQL instead.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import meilisearch
from meilisearch.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchTimeoutError,
)
from sqlalchemy.orm import Session

from catalogue import vocabulary
from geo.names import fold
from search import queries, textquery
from search.contract import FACETS, Hit, SearchPage, SearchQuery, ServiceDocument, Sort
from search.errors import InvalidQuery, SearchError, SearchUnavailable, UnsupportedFilter
from search.queries import Place

BATCH = 5000
TASK_TIMEOUT_MS = 120_000
# Our facet names -> document attributes.
FACET_ATTRIBUTES = {
    "thematiques_spie": "thematiques_spie",
    "categories": "categories",
    "thematiques": "thematiques",
    "publics": "publics",
    "frais": "frais",
    "types": "type",
    "modes_accueil": "modes_accueil",
    "sources": "source",
}
_ERRORS = (MeilisearchCommunicationError, MeilisearchTimeoutError, MeilisearchApiError, OSError)


def index_settings() -> dict:
    """Settings of the services index (pure)."""
    synonyms: dict[str, list[str]] = {}
    for key, values in textquery.synonyms().items():
        synonyms[key] = [fold(v) for v in values]
    return {
        "searchableAttributes": ["nom", "structure_nom", "thematiques_labels", "publics_labels", "description"],
        "filterableAttributes": sorted(
            {
                "id", "thematiques", "categories", "thematiques_spie", "publics", "frais", "type",
                "modes_accueil", "a_distance", "mobilisable_par", "source", "structure_id",
                "code_insee", "zone_codes", "zone_vide", "duplicate", "_geo",
            }
        ),
        "sortableAttributes": ["_geo", "fraicheur"],
        "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness", "fraicheur:desc"],
        "synonyms": synonyms,
        "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 4, "twoTypos": 8}},
        "faceting": {"maxValuesPerFacet": 200},
        "pagination": {"maxTotalHits": 100_000},
        "stopWords": ["le", "la", "les", "de", "des", "du", "un", "une", "et", "a", "au", "aux", "en", "pour"],
    }


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def to_filter(
    query: SearchQuery,
    *,
    place: Place | None = None,
    territory: tuple[list[str], list[str]] | None = None,
) -> list[str]:
    """The Meilisearch filter (AND of the returned expressions) of a query (pure).
    Raises UnsupportedFilter for what the index cannot answer exactly."""
    if not query.published_only:
        raise UnsupportedFilter("l'index ne contient que les services publiés")
    if query.open_at is not None:
        raise UnsupportedFilter("ouvert_le : les horaires ne sont pas dans l'index")
    if query.cursor:
        raise UnsupportedFilter("cursor : pas de pagination par curseur dans Meilisearch")
    out: list[str] = []
    if query.hide_duplicates:
        out.append("duplicate = false")
    if place is not None:
        out.append(f"(zone_vide = true OR zone_codes IN {_list(place.covering)})")
        lon, lat = place.point
        out.append(f"(a_distance = true OR _geoRadius({lat}, {lon}, {round(query.radius_km * 1000)}))")
    if query.thematiques:
        try:
            expanded = vocabulary.expand_thematiques(query.thematiques)
        except KeyError as exc:
            raise InvalidQuery("thematiques", f"thématique inconnue : {exc.args[0]}") from None
        out.append(f"thematiques IN {_list(expanded)}")
    if query.publics:
        out.append(f"publics IN {_list(sorted({*query.publics, vocabulary.TOUS_PUBLICS}))}")
    for attribute, values in (
        ("frais", query.frais),
        ("type", query.types),
        ("modes_accueil", query.modes_accueil),
        ("mobilisable_par", query.mobilisable_par),
        ("source", query.sources),
    ):
        if values:
            out.append(f"{attribute} IN {_list(values)}")
    if query.structure is not None:
        out.append(f"structure_id = {json.dumps(str(query.structure))}")
    if territory is not None:
        communes, zone = territory
        out.append(f"(code_insee IN {_list(communes)} OR zone_codes IN {_list(zone)})")
    return out


def to_sort(query: SearchQuery, place: Place | None) -> list[str]:
    """Sort rules (pure): a place always adds a geo sort (it also yields distances)."""
    geo = [f"_geoPoint({place.point[1]}, {place.point[0]}):asc"] if place else []
    if query.sort == Sort.DISTANCE:
        if not place:
            raise InvalidQuery("tri", "le tri par distance demande une commune (code_commune) ou un point (lat, lon)")
        return geo
    if query.sort == Sort.FRAICHEUR:
        return ["fraicheur:desc", *geo]
    return geo


def search_params(query: SearchQuery, place: Place | None, territory=None) -> dict:
    """The body of one search request (pure)."""
    params = {
        "filter": to_filter(query, place=place, territory=territory),
        "page": query.page,
        "hitsPerPage": query.size,
        "attributesToRetrieve": ["id", "a_distance", "sur_place"],
        "showRankingScore": True,
    }
    sort = to_sort(query, place)
    if sort:
        params["sort"] = sort
    if query.with_facets:
        params["facets"] = list(FACET_ATTRIBUTES.values())
    return params


def ping(url: str, key: str = "", timeout_s: float = 1.0) -> None:
    try:
        meilisearch.Client(url, key or None, timeout=timeout_s).health()
    except _ERRORS as exc:
        raise SearchUnavailable(f"Meilisearch injoignable : {exc.__class__.__name__}") from exc


class MeilisearchBackend:
    name = "meilisearch"

    def __init__(self, session: Session, url: str = "", key: str = "", index: str = "services", *,
                 timeout_s: float = 2.0, client: meilisearch.Client | None = None):
        self.session = session
        self.client = client if client is not None else meilisearch.Client(url, key or None, timeout=timeout_s)
        self.index_name = index

    @classmethod
    def connect(cls, options):
        """session -> engine (search.service's registry): the HTTP client made once.
        SearchError when no URL is set."""
        if not options.url:
            raise SearchError("SEARCH_BACKEND=meilisearch demande MEILISEARCH_URL")
        client = meilisearch.Client(options.url, options.key or None, timeout=options.timeout_s)
        return lambda session: cls(session, index=options.index, client=client)

    def _wait(self, task) -> None:
        uid = getattr(task, "task_uid", None)
        if uid is None:
            uid = task["taskUid"]
        result = self.client.wait_for_task(uid, timeout_in_ms=TASK_TIMEOUT_MS)
        status = getattr(result, "status", None) or result["status"]
        if status != "succeeded":
            raise SearchUnavailable(f"tâche Meilisearch {uid} : {status}")

    def search(self, query: SearchQuery) -> SearchPage:
        place = queries.resolve_place(self.session, query)
        territory = queries.territory_codes(self.session, query.territory) if query.territory else None
        if query.structure is not None:
            queries.check_structure(self.session, query.structure)
        params = search_params(query, place, territory)
        try:
            result = self.client.index(self.index_name).search(query.text or "", params)
        except _ERRORS as exc:
            raise SearchUnavailable(f"Meilisearch : {exc}") from exc
        hits = []
        for h in result["hits"]:
            distance = h.get("_geoDistance") if h.get("sur_place") and place else None
            hits.append(Hit(id=uuid.UUID(h["id"]), score=float(h.get("_rankingScore", 0.0)),
                            distance_m=float(distance) if distance is not None else None))
        facets = {}
        if query.with_facets:
            dist = result.get("facetDistribution", {})
            facets = {name: dict(sorted(dist.get(attr, {}).items(), key=lambda kv: (-kv[1], kv[0])))
                      for name, attr in FACET_ATTRIBUTES.items()}
            facets = {name: facets[name] for name in FACETS}
        return SearchPage(hits=tuple(hits), total=result.get("totalHits", len(hits)), page=query.page,
                          size=query.size, facets=facets)

    def index(self, documents: Iterable[ServiceDocument]) -> None:
        self._add(self.index_name, documents)

    def _add(self, name: str, documents: Iterable[ServiceDocument]) -> int:
        batch: list[dict] = []
        count = 0
        try:
            for doc in documents:
                batch.append(doc.data)
                if len(batch) >= BATCH:
                    self._wait(self.client.index(name).add_documents(batch, primary_key="id"))
                    count += len(batch)
                    batch = []
            if batch:
                self._wait(self.client.index(name).add_documents(batch, primary_key="id"))
                count += len(batch)
        except _ERRORS as exc:
            raise SearchUnavailable(f"Meilisearch : {exc}") from exc
        return count

    def delete(self, ids: Iterable[uuid.UUID]) -> None:
        ids = [str(i) for i in ids]
        if not ids:
            return
        try:
            self._wait(self.client.index(self.index_name).delete_documents(ids))
        except _ERRORS as exc:
            raise SearchUnavailable(f"Meilisearch : {exc}") from exc

    def rebuild(self, documents: Iterable[ServiceDocument], wait: bool = True) -> int:
        """Build a new index aside, then swap it with the live one (no downtime)."""
        aside = f"{self.index_name}_rebuild"
        try:
            for name in (aside,):
                try:
                    self._wait(self.client.delete_index(name))
                except MeilisearchApiError:
                    pass
            self._wait(self.client.create_index(aside, {"primaryKey": "id"}))
            self._wait(self.client.index(aside).update_settings(index_settings()))
            count = self._add(aside, documents)
            try:
                self.client.get_index(self.index_name)
            except MeilisearchApiError:
                self._wait(self.client.create_index(self.index_name, {"primaryKey": "id"}))
            self._wait(self.client.swap_indexes([{"indexes": [self.index_name, aside]}]))
            self._wait(self.client.delete_index(aside))
        except _ERRORS as exc:
            raise SearchUnavailable(f"Meilisearch : {exc}") from exc
        return count

    def drop_index(self) -> None:
        try:
            self._wait(self.client.delete_index(self.index_name))
        except _ERRORS:
            pass

    def check(self) -> None:
        """A real query with this key (an empty search, no hit asked): the server
        answers, the key may search (the application's key may do nothing else),
        the index exists."""
        try:
            self.client.index(self.index_name).search("", {"limit": 0})
        except _ERRORS as exc:
            raise SearchUnavailable(f"Meilisearch : {exc.__class__.__name__}") from exc


# --- scoped keys ---------------------------------------------------------------------
# Created by `offre search keys` from the master key (which no long-running process
# holds): one to read (the app's searches), one to write (the worker's indexing and
# rebuilds). Their uids are fixed, so running it again returns the same keys.

KEY_UIDS = {
    "search": uuid.uuid5(uuid.NAMESPACE_URL, "offre-insertion:meilisearch:search"),
    "write": uuid.uuid5(uuid.NAMESPACE_URL, "offre-insertion:meilisearch:write"),
}


def key_specs(index: str) -> dict[str, dict]:
    return {
        "search": {
            "name": "offre-recherche", "description": "Lecture : recherches de l'application.",
            "actions": ["search"], "indexes": [index],
        },
        "write": {
            "name": "offre-indexation",
            "description": "Écriture : indexation continue et reconstruction (search-worker, setup).",
            "actions": ["documents.*", "indexes.*", "settings.*", "tasks.get"],
            "indexes": [index, f"{index}_rebuild"],
        },
    }


def ensure_keys(url: str, master_key: str, index: str, timeout_s: float = 5.0) -> dict[str, str]:
    """The search and write keys (their values), created when missing."""
    client = meilisearch.Client(url, master_key, timeout=timeout_s)
    values = {}
    try:
        for role, spec in key_specs(index).items():
            uid = str(KEY_UIDS[role])
            try:
                key = client.get_key(uid)
            except MeilisearchApiError as exc:
                if getattr(exc, "status_code", None) != 404:
                    raise
                key = client.create_key({**spec, "uid": uid, "expiresAt": None})
            values[role] = key.key if hasattr(key, "key") else key["key"]
    except _ERRORS as exc:
        raise SearchUnavailable(f"Meilisearch : {exc}") from exc
    return values


def key_can_administer(url: str, key: str, timeout_s: float = 2.0) -> bool:
    """True when `key` may list the API keys (the master key, an admin key): too
    powerful for the application's reads."""
    try:
        meilisearch.Client(url, key or None, timeout=timeout_s).get_keys()
    except MeilisearchApiError:
        return False
    except _ERRORS as exc:
        raise SearchUnavailable(f"Meilisearch : {exc.__class__.__name__}") from exc
    return True


def write_keys(keys: dict[str, str], directory: str) -> None:
    """Each key in its file (meilisearch-<role>.key), readable by owner and group only."""
    os.makedirs(directory, exist_ok=True)
    for role, value in keys.items():
        path = Path(directory) / f"meilisearch-{role}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
