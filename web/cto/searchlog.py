"""The anonymous search log: one row per search made through the site, the API or
the levers, written by a listener of web.search_.run_search.

Kept: the week, the thematiques asked for or matched by the free text, the
commune, the other filters as codes, the number of results. Never kept: the free
text itself, a point (it could be a home), who searched, when exactly.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request
from sqlalchemy import insert

from catalogue.cto import SearchLog, week_of
from search.contract import SearchPage, SearchQuery
from web.db import get_session

PARIS = ZoneInfo("Europe/Paris")
ORIGINS = {"api_root": "api", "search_api": "api", "public": "site", "exports": "export", "cto": "cto"}
READ_ONLY = {"GET", "HEAD"}


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
    """The listener: one insert. Later pages of a search (page > 1, cursor) are
    the same search and are not logged again; searches outside a request (CLI,
    benchmarks) neither. On a read-only request it commits at once (nothing else
    is pending); otherwise the request's own commit writes it."""
    if not has_request_context() or query.page > 1 or query.cursor:
        return
    origin = ORIGINS.get(request.blueprint or "", request.blueprint or "autre")
    session = get_session()
    matched = _matched_elsewhere(session, query, page)
    session.execute(
        insert(SearchLog).values(**row_of(query, page, origin, datetime.now(PARIS).date(), matched))
    )
    if request.method in READ_ONLY:
        session.commit()


def record_levers(query: SearchQuery, page: SearchPage, nearby: int) -> None:
    """One lever search of the CTO (made without the listener): logged as any
    search, with its count of on-site answers within reach, so that the unmet
    demand counts the barriers « sans réponse de proximité »."""
    if not has_request_context():
        return
    row = row_of(query, page, "cto", datetime.now(PARIS).date())
    row["filters"]["reponses_proximite"] = nearby
    get_session().execute(insert(SearchLog).values(**row))


def _matched_elsewhere(session, query: SearchQuery, page: SearchPage) -> tuple[str, ...]:
    """The thematiques the free text matches, as the PostgreSQL engine reports
    them, when another engine (Meilisearch) answered without them."""
    if not query.text or not query.text.strip() or page.matched_thematiques:
        return ()
    if current_app.extensions["offre"]["settings"].search_backend == "postgres":
        return ()
    from search import textquery
    from search.postgres import PostgresBackend

    tsquery = textquery.build_tsquery(session, query.text)
    return PostgresBackend(session).matched_thematiques(tsquery) if tsquery else ()


def install() -> None:
    from web import search_

    if record not in search_.SEARCH_LISTENERS:
        search_.SEARCH_LISTENERS.append(record)
