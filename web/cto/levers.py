"""« Trouver des leviers », the web side: the situation read from the form, and the
catalogue's search handed to the rules of catalogue.levers (which see). Each
barrier's search is logged once (the anonymous search log), with the number of
on-site answers within reach (`reponses_proximite`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from catalogue import levers as rules
from catalogue.levers import (  # noqa: F401  (the names the CTO pages use)
    DAY_INDEX,
    DAYS,
    DEFAULT_NO_VEHICLE_KM,
    EXCLUDED_WORDS,
    FETCH,
    MAX_KM,
    MIN_KM,
    ON_SITE,
    PER_BARRIER,
    REMOTE,
    BarrierAnswer,
    SituationInput,
    answer_mode,
    barrier_codes,
    barrier_label,
    next_week,
    open_on_days,
    parse_ids,
)
from catalogue.levers_form import parse  # noqa: F401  (web/cto/routes.py)
from search.contract import Sort
from web.cto import searchlog
from web.search_ import SEARCH_ARGS, run_search


def find(session, situation: SituationInput, default_radius_km: float, today: date) -> list[BarrierAnswer]:
    """Per barrier, the answers of catalogue.levers.find, each barrier's search
    logged once with its count of on-site answers within reach."""
    radius = situation.max_km if situation.max_km is not None else default_radius_km
    first: dict[str, tuple] = {}

    def search(barrier: str, nearest_first: bool):
        # Through the one schema of a search's parameters, as the pages and the API.
        query = replace(SEARCH_ARGS.query({
            "code_commune": situation.code_commune,
            "rayon_km": f"{radius:g}",
            "thematiques": [barrier],
            "publics": list(situation.publics),
            "tri": (Sort.DISTANCE if nearest_first else Sort.PERTINENCE).value,
            "size": str(FETCH),
        }), with_facets=False)
        page = run_search(query, log=False)
        first.setdefault(barrier, (query, page))
        return page.total, [(h.id, h.distance_m) for h in page.hits]

    found = rules.find(session, situation, radius, today, search)
    for answer in found:
        query, page = first[answer.code]
        searchlog.record_levers(query, page, len(answer.on_site))
    return found
