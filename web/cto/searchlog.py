"""The anonymous search log: one row per search made through the site, the API or
the levers: a listener of the search service (search.service) keeps the row, and
it is written once the request is over, in a transaction of its own.

Kept: the week, the thematiques asked for or matched by the free text, the
commune, the other filters as codes, the number of results. Never kept: the free
text itself, a point (it could be a home), who searched, when exactly.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context, request

from catalogue.cto import week_of, write_search_log
from search.contract import SearchPage, SearchQuery
from web import search_
from web.db import close_session, get_session, take_session

logger = logging.getLogger(__name__)
PARIS = ZoneInfo("Europe/Paris")
PENDING = "search_log_pending"
LATER = "search_log_later"
ORIGINS = {"api_root": "api", "search_api": "api", "public": "site", "exports": "export", "cto": "cto"}


def row_of(query: SearchQuery, page: SearchPage, origin: str, today, matched: tuple[str, ...] = ()) -> dict:
    """What the log keeps of one search (codes only)."""
    thematiques: list[str] = []
    for code in (*query.thematiques, *(matched or page.matched_thematiques)):
        if code not in thematiques:
            thematiques.append(code)
    filters: dict = {"origine": origin}
    for name, value in (
        ("publics", query.publics),
        ("frais", query.frais),
        ("types", query.types),
        ("modes_accueil", query.modes_accueil),
        ("mobilisable_par", query.mobilisable_par),
        ("sources", query.sources),
    ):
        if value:
            filters[name] = list(value)
    if query.code_commune or query.point:
        filters["rayon_km"] = query.radius_km
    if query.territory:
        filters["territoire"] = query.territory
    if query.text and query.text.strip():
        filters["texte"] = True  # that there was a text, never the text
    if query.open_at is not None:
        filters["ouvert_le"] = True
    if query.point is not None:
        filters["point"] = True
    return {
        "week": week_of(today),
        "thematiques": thematiques,
        "code_commune": query.code_commune,
        "filters": filters,
        "result_count": page.total,
    }


def record(query: SearchQuery, page: SearchPage) -> None:
    """The listener: what the log keeps of this search, written after the response
    (`write_pending`). Later pages of a search (page > 1, cursor) are the same search
    and are not logged again; searches outside a request (CLI, benchmarks) neither."""
    if not has_request_context() or query.page > 1 or query.cursor:
        return
    origin = ORIGINS.get(request.blueprint or "", request.blueprint or "autre")
    matched = _matched_elsewhere(get_session(), query, page)
    g.setdefault(PENDING, []).append(row_of(query, page, origin, datetime.now(PARIS).date(), matched))


def write_pending(exc: BaseException | None = None) -> None:
    """At the end of the request (teardown), the rows of its searches in their own
    short transaction: a GET never commits the request's session. Once the response
    is sent (`defer`), by the request's session, rolled back first; else now, the
    request's session closed first. Nothing is written when the request failed; a
    failure to write is logged, never raised."""
    rows, later = g.pop(PENDING, None), g.pop(LATER, None)
    if not rows or exc is not None:
        return
    sessions = current_app.extensions["offre"]["sessionmaker"]
    if later is not None:
        later.update(rows=rows, session=take_session() or sessions())
        return
    close_session()
    _write(sessions(), rows)


def defer(response):
    """After the view: the rows are written when the server closes the response,
    once sent, so that the client does not wait for them. Only under a server
    (web.search_.served); with the test client, at teardown."""
    if g.get(PENDING) and search_.served():
        later = g.setdefault(LATER, {})
        response.call_on_close(lambda: later and _write(later["session"], later["rows"]))
    return response


def _write(session, rows: list[dict]) -> None:
    try:
        with session:
            session.rollback()  # the request's reads (nothing of theirs is kept)
            with session.begin():
                write_search_log(session, rows)
    except Exception:  # the log must never break a search
        logger.exception("search log: %d row(s) not written", len(rows))


def record_levers(query: SearchQuery, page: SearchPage, nearby: int) -> None:
    """One lever search of the CTO (made without the listener): logged as any
    search, with its count of on-site answers within reach, so that the unmet
    demand counts the barriers « sans réponse de proximité »."""
    if not has_request_context():
        return
    row = row_of(query, page, "cto", datetime.now(PARIS).date())
    row["filters"]["reponses_proximite"] = nearby
    g.setdefault(PENDING, []).append(row)


def _matched_elsewhere(session, query: SearchQuery, page: SearchPage) -> tuple[str, ...]:
    """The thematiques the free text matches, as the PostgreSQL engine reports
    them, when another engine (Meilisearch) answered without them."""
    if not query.text or not query.text.strip() or page.matched_thematiques:
        return ()
    engine = search_.service()
    if not engine.external:
        return ()
    from search import textquery

    tsquery = textquery.build_tsquery(session, query.text)
    return engine.postgres(session).matched_thematiques(tsquery) if tsquery else ()


def install(app) -> None:
    """Listen to the app's searches; write their rows after each request."""
    search_.service(app).listen(record)
    if write_pending not in app.teardown_request_funcs.get(None, []):
        app.teardown_request(write_pending)
        app.after_request(defer)
