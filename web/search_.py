"""Search for the web: query-string parsing, the configured engine with its
PostgreSQL fallback, listeners, and loading the rows of a page.

Shared by the public pages and the JSON API: same parameters, same meaning.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.datastructures import MultiDict

from catalogue import vocabulary
from catalogue.models import Service
from catalogue.schemas import INSEE_COMMUNE, in_france, parse_decimal, parse_int
from search.backends import make_backend
from search.contract import MAX_PAGE_SIZE, Hit, SearchPage, SearchQuery, Sort
from search.errors import InvalidQuery, SearchError, SearchUnavailable, UnsupportedFilter
from search.postgres import PostgresBackend
from web.db import get_session
from web.observability import observe_search

logger = logging.getLogger(__name__)

# Blueprint without routes: registered so that init_app wires the health check.
bp = Blueprint("search", __name__)

# Callables (query, page) -> None run after each search made with log=True
# (the anonymous search log registers here). A failing listener is logged, never raised.
SEARCH_LISTENERS: list = []

MIN_RADIUS_KM, MAX_RADIUS_KM = 1, 200
MAX_TEXT = 200
FALLBACK_DEGRADED_S = 60
PARIS = ZoneInfo("Europe/Paris")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_SOURCE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_TRUE = {"1", "true", "oui", "yes", "on"}
_FALSE = {"0", "false", "non", "no", "off"}


def _list(args: MultiDict, name: str) -> tuple[str, ...]:
    values: list[str] = []
    for raw in args.getlist(name):
        for part in raw.split(","):
            part = part.strip()
            if part and part not in values:
                values.append(part)
    return tuple(values)


def _codes(args: MultiDict, name: str, known, what: str) -> tuple[str, ...]:
    values = _list(args, name)
    unknown = [v for v in values if v not in known]
    if unknown:
        raise InvalidQuery(name, f"{what} : {', '.join(unknown)}")
    return values


def _one(args: MultiDict, name: str) -> str | None:
    values = [v.strip() for v in args.getlist(name) if v.strip()]
    if len(values) > 1:
        raise InvalidQuery(name, "une seule valeur est attendue")
    return values[0] if values else None


def _number(args: MultiDict, name: str, lo: float, hi: float, what: str) -> float | None:
    raw = _one(args, name)
    if raw is None:
        return None
    value = parse_decimal(raw)
    if value is None:
        raise InvalidQuery(name, f"{what} : nombre attendu, reçu « {raw} »")
    if not lo <= value <= hi:
        raise InvalidQuery(name, f"{what} : doit être entre {lo:g} et {hi:g}, reçu {raw}")
    return value


def _integer(args: MultiDict, name: str, lo: int, hi: int, default: int) -> int:
    raw = _one(args, name)
    if raw is None:
        return default
    value = parse_int(raw)
    if value is None:
        raise InvalidQuery(name, f"nombre entier attendu, reçu « {raw} »")
    if not lo <= value <= hi:
        raise InvalidQuery(name, f"doit être entre {lo} et {hi}, reçu {value}")
    return value


OPEN_AT_YEARS = (1900, 2199)


def parse_local_datetime(raw: str, name: str) -> datetime:
    """A date and time in Paris time from ISO text; an offset (+01:00, Z) is converted.
    Years outside OPEN_AT_YEARS are refused (0001-01-01T00:00+14:00 would overflow)."""
    try:
        value = datetime.fromisoformat(raw)
        if value.tzinfo is not None:
            value = value.astimezone(PARIS).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InvalidQuery(name, f"date et heure invalides : « {raw} » (attendu AAAA-MM-JJTHH:MM)") from None
    lo, hi = OPEN_AT_YEARS
    if not lo <= value.year <= hi:
        raise InvalidQuery(name, f"date hors des années {lo} à {hi} : « {raw} »")
    return value


def _thematique_codes() -> set[str]:
    return (
        set(vocabulary.thematiques())
        | set(vocabulary.categories())
        | set(vocabulary.spie_group_by_code())
    )


def query_from_args(args: MultiDict, *, default_radius_km: float = 50) -> SearchQuery:
    """A SearchQuery from query-string parameters (data·inclusion names, plus ours).
    Lists may be repeated or comma-separated. Raises InvalidQuery(parameter, reason)."""
    text_ = _one(args, "q")
    if text_ is not None and len(text_) > MAX_TEXT:
        raise InvalidQuery("q", f"texte trop long ({len(text_)} caractères, {MAX_TEXT} au plus)")

    code_commune = _one(args, "code_commune")
    if code_commune is not None:
        code_commune = code_commune.upper()
        if not INSEE_COMMUNE.match(code_commune):
            raise InvalidQuery("code_commune", f"code INSEE de commune invalide : « {code_commune} » (5 caractères, ex. 02408)")
        # An unknown commune is refused by the engine (search.queries.resolve_place,
        # the same InvalidQuery), with no query of its own here.

    lat = _number(args, "lat", -90, 90, "latitude")
    lon = _number(args, "lon", -180, 180, "longitude")
    if (lat is None) != (lon is None):
        missing = "lon" if lon is None else "lat"
        raise InvalidQuery(missing, "lat et lon vont ensemble : donnez les deux")
    point = None
    if lat is not None:
        if not in_france(lon, lat):
            raise InvalidQuery("lat", f"le point ({lat}, {lon}) est hors de France")
        point = (lon, lat)

    radius = _number(args, "rayon_km", MIN_RADIUS_KM, MAX_RADIUS_KM, "rayon en km")

    structure = _one(args, "structure")
    structure_id = None
    if structure is not None:
        try:
            structure_id = uuid.UUID(structure)
        except ValueError:
            raise InvalidQuery("structure", f"identifiant de structure invalide : « {structure} »") from None

    territory = _one(args, "territoire")
    if territory is not None and not _SLUG.match(territory):
        raise InvalidQuery("territoire", f"identifiant de territoire invalide : « {territory} »")

    open_at = None
    raw = _one(args, "ouvert_le")
    if raw is not None:
        open_at = parse_local_datetime(raw, "ouvert_le")

    sort_raw = _one(args, "tri") or Sort.PERTINENCE.value
    try:
        sort = Sort(sort_raw)
    except ValueError:
        raise InvalidQuery("tri", f"tri inconnu : « {sort_raw} » (pertinence, distance ou fraicheur)") from None
    if sort == Sort.DISTANCE and code_commune is None and point is None:
        raise InvalidQuery("tri", "le tri par distance demande une commune (code_commune) ou un point (lat, lon)")

    hide = _one(args, "exclure_doublons")
    if hide is None:
        hide_duplicates = True
    elif hide.lower() in _TRUE:
        hide_duplicates = True
    elif hide.lower() in _FALSE:
        hide_duplicates = False
    else:
        raise InvalidQuery("exclure_doublons", f"true ou false attendu, reçu « {hide} »")

    sources = _list(args, "sources")
    bad = [s for s in sources if not _SOURCE.match(s)]
    if bad:
        raise InvalidQuery("sources", f"nom de source invalide : {', '.join(bad)}")

    cursor = _one(args, "cursor")
    return SearchQuery(
        text=text_,
        code_commune=code_commune,
        point=point,
        radius_km=radius if radius is not None else default_radius_km,
        thematiques=_codes(args, "thematiques", _thematique_codes(), "thématique inconnue"),
        publics=_codes(args, "publics", vocabulary.publics(), "public inconnu"),
        frais=_codes(args, "frais", vocabulary.frais(), "frais inconnus"),
        types=_codes(args, "types", vocabulary.types(), "type de service inconnu"),
        modes_accueil=_codes(args, "modes_accueil", vocabulary.modes_accueil(), "mode d'accueil inconnu"),
        mobilisable_par=_codes(args, "mobilisable_par", vocabulary.mobilisable_par(), "valeur inconnue"),
        sources=sources,
        structure=structure_id,
        territory=territory,
        open_at=open_at,
        hide_duplicates=hide_duplicates,
        sort=sort,
        page=_integer(args, "page", 1, 100_000, 1),
        size=_integer(args, "size", 1, MAX_PAGE_SIZE, 20),
        cursor=cursor,
    )


# --- running a search -------------------------------------------------------------

def _state() -> dict:
    return current_app.extensions["offre"].setdefault("search_state", {"fallback_at": None, "error": None})


def backend_for(session: Session):
    settings = current_app.extensions["offre"]["settings"]
    return make_backend(
        settings.search_backend,
        session,
        meilisearch_url=settings.meilisearch_url,
        meilisearch_key=settings.meilisearch_key,
        meilisearch_index=settings.meilisearch_index,
    )


def click_counts(query: SearchQuery) -> dict[str, dict[str, int]]:
    """The filter counts of a results page: for each value, the number of results
    ticking it would give (search.facet_counts), from the catalogue itself."""
    from search.facet_counts import click_counts as count

    return count(PostgresBackend(get_session()), query)


def run_search(query: SearchQuery, *, log: bool = True) -> SearchPage:
    """One page of results from the configured engine. When Meilisearch cannot
    answer, PostgreSQL does (logged, and /healthz says degraded). InvalidQuery
    propagates (a 400 for the caller)."""
    session = get_session()
    started = time.perf_counter()
    try:
        backend = backend_for(session)
    except SearchError as exc:
        _note_fallback(exc)
        backend = PostgresBackend(session)
    answered = "postgres" if isinstance(backend, PostgresBackend) else backend.name
    try:
        page = backend.search(query)
    except UnsupportedFilter:
        # What the engine cannot answer exactly (opening hours, cursors), PostgreSQL does.
        answered = "postgres"
        page = PostgresBackend(session).search(query)
    except SearchUnavailable as exc:
        if isinstance(backend, PostgresBackend):
            raise
        _note_fallback(exc)
        answered = "postgres"
        page = PostgresBackend(session).search(query)
    observe_search(answered, time.perf_counter() - started)
    if log:
        for listener in list(SEARCH_LISTENERS):
            try:
                listener(query, page)
            except Exception:  # a listener must never break the search
                logger.exception("search listener %r failed", listener)
    return page


def _note_fallback(exc: Exception) -> None:
    state = _state()
    state["fallback_at"] = time.monotonic()
    state["error"] = str(exc)
    logger.warning("search engine unavailable, PostgreSQL answers instead: %s", exc)


def load_services(session: Session, hits: tuple[Hit, ...] | list[Hit]) -> list[Service]:
    """The catalogue rows of the hits, in hit order, structures loaded."""
    ids = [h.id for h in hits]
    if not ids:
        return []
    rows = session.scalars(
        select(Service).where(Service.id.in_(ids)).options(selectinload(Service.structure))
    ).all()
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def search_health(app) -> dict:
    settings = app.extensions["offre"]["settings"]
    name = settings.search_backend
    if name == "postgres":
        # The engine's own check: its search table read.
        started = time.perf_counter()
        try:
            with app.extensions["offre"]["sessionmaker"]() as session:
                PostgresBackend(session).check()
        except SearchError as exc:
            return {"status": "down", "backend": "postgres", "error": str(exc)[:200]}
        return {"status": "ok", "backend": "postgres",
                "ms": round((time.perf_counter() - started) * 1000, 1)}
    state = app.extensions["offre"].setdefault("search_state", {"fallback_at": None, "error": None})
    try:
        from search.meilisearch_ import probe

        probe(settings.meilisearch_url, settings.meilisearch_key, settings.meilisearch_index, timeout_s=1.0)
    except SearchError as exc:
        return {"status": "degraded", "backend": name, "answering": "postgres", "error": str(exc)}
    recent = state["fallback_at"] is not None and time.monotonic() - state["fallback_at"] < FALLBACK_DEGRADED_S
    if recent:
        return {"status": "degraded", "backend": name, "answering": "postgres", "error": state["error"]}
    return {"status": "ok", "backend": name}


def init_app(app) -> None:
    app.extensions["offre"]["search_health"] = lambda: search_health(app)
