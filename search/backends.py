"""The registry of engines: SEARCH_BACKEND name -> a constructor."""

from __future__ import annotations

from sqlalchemy.orm import Session

from search.contract import SearchBackend
from search.errors import SearchError


def make_backend(
    name: str,
    session: Session,
    *,
    meilisearch_url: str = "",
    meilisearch_key: str = "",
    meilisearch_index: str = "services",
    timeout_s: float = 2.0,
) -> SearchBackend:
    """The engine named `name`, bound to `session` (which resolves communes,
    territories and opening hours for every engine)."""
    if name == "postgres":
        from search.postgres import PostgresBackend

        return PostgresBackend(session)
    if name == "meilisearch":
        from search.meilisearch_ import MeilisearchBackend

        if not meilisearch_url:
            raise SearchError("SEARCH_BACKEND=meilisearch demande MEILISEARCH_URL")
        return MeilisearchBackend(
            session, meilisearch_url, meilisearch_key, meilisearch_index, timeout_s=timeout_s
        )
    raise SearchError(f"moteur de recherche inconnu : {name!r} (postgres ou meilisearch)")


BACKENDS = ("postgres", "meilisearch")
