"""The search service: the one door to search, built once per application
(web.search_.service()) or per command (the CLI, without Flask).

It holds
- the registry of engines (`ENGINES`: SEARCH_BACKEND name -> class), each class
  `connect`ed once with its options (Meilisearch: its HTTP client), then bound to a
  session per search (the session resolves communes, territories and opening
  hours for every engine);
- the fallback policy: what the configured engine cannot answer exactly
  (UnsupportedFilter) or cannot answer now (SearchUnavailable, or an engine that
  cannot even be set up), PostgreSQL answers, from the catalogue itself; a recent
  fallback makes the health "degraded";
- the listeners, called after each logged search (the anonymous search log);
- the cache of what PostgreSQL answers (pages, filter counts: search.cache), exact
  under the catalogue's search generation, per process;
- the health, through the engine's own `check()`;
- rebuild and sync of the index (search.sync), for the CLI and the worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from catalogue.db import transaction
from search import national, sync
from search.cache import SearchCache, generation
from search.contract import SearchBackend, SearchPage, SearchQuery
from search.documents import all_documents
from search.errors import SearchError, SearchUnavailable, UnsupportedFilter
from search.facet_counts import click_counts
from search.meilisearch_ import MeilisearchBackend
from search.postgres import PostgresBackend

logger = logging.getLogger(__name__)

# The engines a SEARCH_BACKEND may name. Each class has `connect(options)`, giving
# a function session -> engine (what is costly to set up is set up there, once).
ENGINES: dict[str, type] = {
    "postgres": PostgresBackend,
    "meilisearch": MeilisearchBackend,
}
DEFAULT_ENGINE = "postgres"
# After a fallback, /healthz says "degraded" this long.
FALLBACK_DEGRADED_S = 60

Listener = Callable[[SearchQuery, SearchPage], None]
T = TypeVar("T")


class UnknownEngine(SearchError):
    """SEARCH_BACKEND names no engine of the registry."""


def engine_class(name: str) -> type:
    """The class of the engine `name`; UnknownEngine (a clear French message naming
    the known ones) otherwise."""
    try:
        return ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise UnknownEngine(f"moteur de recherche inconnu : « {name} » (SEARCH_BACKEND : {known})") from None


@dataclass(frozen=True)
class EngineOptions:
    """What an engine needs besides a session (Meilisearch: where and how)."""

    url: str = ""
    key: str = ""
    index: str = "services"
    timeout_s: float = 2.0


def bind_engine(name: str, options: EngineOptions = EngineOptions()) -> Callable[[Session], SearchBackend]:
    """session -> the engine `name`, connected once with `options`."""
    return engine_class(name).connect(options)


class SearchService:
    """One per application: built from its settings, kept for its life."""

    def __init__(self, engine: str = DEFAULT_ENGINE, options: EngineOptions = EngineOptions(), *,
                 observe: Callable[[str, float], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, cache_size: int = 0,
                 shared_cache_size: int = 0, warm_searches: int = 200):
        self.name = engine
        self.options = options
        self.listeners: list[Listener] = []
        self.observe = observe
        self.clock = clock
        self.fallback_at: float | None = None
        self.last_error: str | None = None
        self.cache = SearchCache(cache_size, shared_cache_size)
        # The national part of searches (search.national), its own counts and room.
        self.national = SearchCache(cache_size, shared_cache_size)
        self.warm_searches = warm_searches  # at most, after each change (search.national.warm)
        self._postgres = PostgresBackend.connect(options)
        try:
            self._bind = bind_engine(engine, options)
            self.refused: SearchError | None = None
        except SearchError as exc:
            # A wrong configuration (an unknown engine, Meilisearch without its URL):
            # PostgreSQL answers, the health says why (as when the engine is down).
            self._bind = None
            self.refused = exc

    @classmethod
    def from_settings(cls, settings, **kwargs) -> SearchService:
        """The service that the settings (web.settings.Settings, or any object with
        the same attributes) describe."""
        options = EngineOptions(url=settings.meilisearch_url, key=settings.meilisearch_key,
                                index=settings.meilisearch_index)
        kwargs.setdefault("cache_size", settings.search_cache_size)
        kwargs.setdefault("shared_cache_size", settings.search_shared_cache_size)
        kwargs.setdefault("warm_searches", settings.search_warm_searches)
        return cls(settings.search_backend, options, **kwargs)

    # --- engines ------------------------------------------------------------------
    @property
    def external(self) -> bool:
        """True when the configured engine is not PostgreSQL (it has an index to feed)."""
        return self.name != DEFAULT_ENGINE

    def engine(self, session: Session) -> SearchBackend:
        """The configured engine, bound to `session`. SearchError if it cannot be set up."""
        if self._bind is None:
            raise self.refused
        return self.postgres(session) if self._bind is PostgresBackend else self._bind(session)

    def postgres(self, session: Session) -> PostgresBackend:
        """The PostgreSQL engine (the fallback, and the filter counts of the pages)."""
        return self._postgres(session, cache=self.national)

    # --- searching ---------------------------------------------------------------
    def listen(self, listener: Listener) -> None:
        """Call `listener(query, page)` after each logged search (once, however often
        it is registered). A failing listener is logged, never raised."""
        if listener not in self.listeners:
            self.listeners.append(listener)

    def search(self, session: Session, query: SearchQuery, *, log: bool = True) -> SearchPage:
        """One page of results from the configured engine, PostgreSQL answering
        what it cannot (see the module). InvalidQuery propagates (a 400 for the caller)."""
        started = time.perf_counter()
        page, answered = self._answer(session, query)
        self._answered(query, page, answered, time.perf_counter() - started, log)
        return page

    def rendered(self, session: Session, query: SearchQuery, name: str, render: Callable[[SearchPage], T], *,
                 log: bool = True) -> T:
        """`render(page)` of the search's page (the JSON API's body: `name` says
        which rendering), kept in the cache with the page, so that one read of the
        search generation serves both. `render` only reads rows by id (the PostgreSQL
        engine's parallel setting is left to the end of the transaction, not put back:
        one round trip less). An external engine is asked each time, its rendering
        alone kept (as search() then the cache would)."""
        if self.external:
            page = self.search(session, query, log=log)
            return self.cache.get(session, (name, query), lambda: render(page))
        spent: list[float] = []

        def compute() -> tuple[SearchPage, T]:
            started = time.perf_counter()
            page = PostgresBackend(session, restore=False, cache=self.national).search(query)
            spent.append(time.perf_counter() - started)
            return page, render(page)

        started = time.perf_counter()
        page, out = self.cache.get(session, (name, query), compute)
        self._answered(query, page, DEFAULT_ENGINE, spent[0] if spent else time.perf_counter() - started, log)
        return out

    def _answered(self, query: SearchQuery, page: SearchPage, answered: str, seconds: float, log: bool) -> None:
        """The engine's time observed; the listeners called (logged searches)."""
        if self.observe is not None:
            self.observe(answered, seconds)
        if log:
            for listener in list(self.listeners):
                try:
                    listener(query, page)
                except Exception:  # a listener must never break the search
                    logger.exception("search listener %r failed", listener)

    def _answer(self, session: Session, query: SearchQuery) -> tuple[SearchPage, str]:
        try:
            backend = self.engine(session)
        except SearchError as exc:
            self._note_fallback(exc)
            return self.postgres(session).search(query), DEFAULT_ENGINE
        try:
            if backend.name == DEFAULT_ENGINE:
                return self.cache.get(session, ("page", query), lambda: backend.search(query)), backend.name
            return backend.search(query), backend.name
        except UnsupportedFilter:
            # What the engine cannot answer exactly (opening hours, cursors), PostgreSQL does.
            return self.postgres(session).search(query), DEFAULT_ENGINE
        except SearchUnavailable as exc:
            if backend.name == DEFAULT_ENGINE:
                raise
            self._note_fallback(exc)
            return self.postgres(session).search(query), DEFAULT_ENGINE

    def click_counts(self, session: Session, query: SearchQuery) -> dict[str, dict[str, int]]:
        """The filter counts of a results page (search.facet_counts), from the
        catalogue itself whatever the engine, kept in the cache."""
        return self.cache.get(session, ("counts", query), lambda: click_counts(self.postgres(session), query, self.cache))

    def _note_fallback(self, exc: Exception) -> None:
        self.fallback_at = self.clock()
        self.last_error = str(exc)
        logger.warning("search engine unavailable, PostgreSQL answers instead: %s", exc)

    # --- health ------------------------------------------------------------------
    def health(self, sessions: sessionmaker[Session]) -> dict:
        """The engine's own check(): PostgreSQL, its search table read ("down" when
        it cannot); an external engine, a real query ("degraded" when it cannot, or
        fell back lately: PostgreSQL answers)."""
        started = time.perf_counter()
        try:
            with sessions() as session:
                self.engine(session).check()
        except SearchError as exc:
            if not self.external:
                return {"status": "down", "backend": self.name, "error": str(exc)[:200]}
            return {"status": "degraded", "backend": self.name, "answering": DEFAULT_ENGINE, "error": str(exc)}
        ms = round((time.perf_counter() - started) * 1000, 1)
        if self.fallback_at is not None and self.clock() - self.fallback_at < FALLBACK_DEGRADED_S:
            return {"status": "degraded", "backend": self.name, "answering": DEFAULT_ENGINE,
                    "error": self.last_error}
        return {"status": "ok", "backend": self.name, **({} if self.external else {"ms": ms})}

    # --- the index ---------------------------------------------------------------
    def rebuild(self, sessions: sessionmaker[Session], actor: str = "cli:search") -> int:
        """Rebuild the whole index, then make the database feed this engine
        (search.sync.switch_to). Returns the documents indexed."""
        if self.external:
            # Feeding an external engine always starts from a full rebuild, the outbox on.
            return sync.switch_to(sessions, self.name, self.engine)
        with transaction(sessions, actor=actor) as session:
            count = self.engine(session).rebuild(all_documents(session))
        sync.switch_to(sessions, self.name, self.engine)
        return count

    def sync(self, sessions: sessionmaker[Session], batch: int = 1000) -> sync.SyncResult:
        """Apply the pending outbox rows to the index until none is left."""
        return sync.sync_all(sessions, self.engine, batch)

    def worker(self, sessions: sessionmaker[Session], **kwargs) -> None:
        """Sync forever (search.sync.worker), switching engines first when needed;
        after each pass, the national parts of the commonest searches kept ready."""
        warmed: list = [None, None]  # (generation, day) warmed; that of the previous pass
        sync.worker(sessions, self.engine, configured=self.name, after=lambda: self.warm(sessions, warmed), **kwargs)

    def warm(self, sessions: sessionmaker[Session], state: list | None = None) -> int:
        """Compute the national parts of the commonest searches (search.national.warm)
        into the cache that the web workers share. With `state` ([warmed, seen]), only
        when the catalogue's generation or the day changed and then stayed the same for
        one pass (an import commits batch after batch: warmed once, at its end), the
        search index's pending entries merged first (search.sync.merge_pending).
        Returns the number of searches run (0: nothing to do, or no shared cache)."""
        with sessions() as session:
            now = (generation(session), date.today())
            if state is not None:
                seen, state[1] = state[1], now
                if now == state[0] or now != seen:
                    return 0
                # The change settled: the index's pending entries merged first (the
                # searches read through them until then), then the parts prepared.
                merged = self._merge_pending(session)
                state[0] = now
            if self.national.shared is None:
                return 0
            started = time.perf_counter()
            count = national.warm(session, self.national, self.warm_searches)
        if state is not None:
            logger.info("search worker: national parts of %d searches prepared in %.1f s "
                        "(index pages merged first: %d)", count, time.perf_counter() - started, merged)
        return count

    @staticmethod
    def _merge_pending(session: Session) -> int:
        """search.sync.merge_pending, never stopping the worker (a database
        user that does not own the index: logged, left to autovacuum)."""
        try:
            return sync.merge_pending(session)
        except DBAPIError:
            session.rollback()
            logger.warning("search worker: the search index's pending entries could not be merged", exc_info=True)
            return 0
