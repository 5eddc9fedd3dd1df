"""Search for the web: HTTP glue around the application's search service
(search.service: engines, fallback, listeners, health) and the search's
parameters (search.params.SearchArgs).

Shared by the public pages, the exports, the CTO and the JSON API: same
parameters, same meaning, same engine. The service is built once, when the app
is (init_app), and reached through `service()`.
"""

from __future__ import annotations

from flask import Blueprint, after_this_request, current_app, has_request_context, request
from sqlalchemy.orm import Session

from search.contract import Hit, SearchPage, SearchQuery
from search.params import SearchArgs
from search.rows import load_services as _load_services
from search.service import SearchService
from web.db import get_session
from web.observability import observe_search

# Blueprint without routes: registered so that init_app builds the service and
# wires the health check.
bp = Blueprint("search", __name__)


def _default_radius_km() -> float:
    return current_app.extensions["offre"]["settings"].default_radius_km


# The one schema of a search's parameters, the radius defaulting to the app's setting
# (the JSON API documents and parses with this same instance).
SEARCH_ARGS = SearchArgs(default_radius_km=_default_radius_km)


def service(app=None) -> SearchService:
    """The application's search service (built once, in init_app)."""
    return (app or current_app).extensions["offre"]["search"]


def parse_query(args) -> SearchQuery:
    """The SearchQuery of a query string. Raises InvalidQuery naming the parameter."""
    return SEARCH_ARGS.query(args)


def run_search(query: SearchQuery, *, log: bool = True) -> SearchPage:
    """One page of results on the request's session (search.service.SearchService.search)."""
    return service().search(get_session(), query, log=log)


def click_counts(query: SearchQuery) -> dict[str, dict[str, int]]:
    """The filter counts of a results page: for each value, the number of results
    ticking it would give (search.facet_counts), from the catalogue itself."""
    return service().click_counts(get_session(), query)


def load_services(session: Session, hits: tuple[Hit, ...] | list[Hit]):
    """The catalogue rows of the hits, in hit order (search.rows)."""
    return _load_services(session, hits)


def served() -> bool:
    """In a request under a server, which names itself in SERVER_SOFTWARE and closes
    every response once sent (PEP 3333); the test client never closes one."""
    return has_request_context() and bool(request.environ.get("SERVER_SOFTWARE"))


def after_response(task) -> bool:
    """Run `task` once the response is sent, under a server (`served`; cf.
    web.cto.searchlog.defer); False elsewhere (run it now)."""
    if not served():
        return False

    @after_this_request
    def close_with(response):
        response.call_on_close(task)
        return response

    return True


def use_settings(app, settings) -> SearchService:
    """Put `settings` in force and build the search service anew from them (its
    listeners kept): what create_app does once; tests that switch engines too."""
    ext = app.extensions["offre"]
    previous = ext.get("search")
    ext["settings"] = settings
    ext["search"] = SearchService.from_settings(settings, observe=observe_search)
    ext["search"].cache.later = ext["search"].national.later = after_response
    for listener in previous.listeners if previous is not None else ():
        ext["search"].listen(listener)
    return ext["search"]


def init_app(app) -> None:
    ext = app.extensions["offre"]
    use_settings(app, ext["settings"])
    ext["search_health"] = lambda: ext["search"].health(ext["sessionmaker"])
