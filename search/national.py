"""The national remote offers of a search, counted and ranked once per catalogue
generation instead of at every search (issue #22).

An offer received remotely with an empty or national zone (`r:*`, `r:france` in
search_document.zone) is found from every place in France: the same rows, for the
same filters, whatever the commune. They are most of a broad search's results (Lille
and « emploi-formation » on the national-shaped catalogue: 5,042 of its 5,971
offers), and counting their facets and scoring them was most of its time. A search
with a place is split into two disjoint parts:

- N, the national remote rows (the remote branch's rows with one of those codes):
  their number, their facet counts (or the results pages' tallies) and the first
  rows of those whose score does not depend on the place (no distance: not received
  on site, or not placed) are computed once per generation, day and filters (the
  place left out) and kept in the search cache (search.cache: each worker's, then
  shared by the workers);
- L, every other row (the remote branch without those codes, the on-site branch):
  scored and counted at each search, as before.

Totals and facet counts add up. The page is the first rows of L, of N's constant
rows kept, and of N's rows whose score depends on the distance (offered on site
and remotely, placed): of those, only the ones near enough to beat the k-th row of
the two others can enter the first k (k = offset + size + 1), and the grid cells
that every placed on-site row carries (migration 0031) find them. The same rows, in
the same order, with the same scores as the whole query: any row of the true first
k is among the candidates (tests/search/test_national.py compares both).

Left to the whole query: no place, free text (its rank bounds nothing), opening
hours, cursors, deep pages, the freshness sort, and a bound that does not hold
(N has placed rows and the others are fewer than k, or rows farther than FARTHEST_M
could still enter).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from types import SimpleNamespace

from sqlalchemy import text

from catalogue import vocabulary
from geo.eligibility import FRANCE
from search.contract import SearchPage, SearchQuery, Sort
from search.errors import InvalidQuery
from search.facet_counts import click_counts
from search.postgres import (
    EARTH_RADIUS_M,
    FACETS_SQL,
    FRESHNESS_WEIGHT,
    PROXIMITY_WEIGHT,
    SORT_KEYS,
    PostgresBackend,
    _Plan,
    grid_cells,
    score_sql,
    union_sql,
)
from search.tallies import count as tallies_of

NATIONAL_ZONE = ("r:*", f"r:{FRANCE}")
# The national constant rows kept ranked: pages whose offset + size + 1 is at most TOP.
TOP = 201
# Farther than this, the rows that might enter the page are too many to read by cell.
FARTHEST_M = 100_000.0
# Rounding (scores have 6 decimals) and floating point: the bound is widened by it.
MARGIN = 2e-6
SORTS = (Sort.PERTINENCE, Sort.DISTANCE)


def answer(backend: PostgresBackend, query: SearchQuery, plan: _Plan, tallies: tuple[list[str], str] | None):
    """The page (or the tallies) of the search, its national part from the cache;
    None when the whole query must answer (see the module)."""
    if not plan.placed or query.open_at is not None:
        return None
    national = [z for z in NATIONAL_ZONE if z in plan.params["remote_zone"]]
    if not national:
        return None
    plan.params.update(national_zone=national,
                       local_zone=[z for z in plan.params["remote_zone"] if z not in national])
    local = union_sql(plan, [
        "d.zone && CAST(:local_zone AS text[]) AND NOT d.zone && CAST(:national_zone AS text[])",
        plan.branches[1],
    ])
    common = replace(query, code_commune=None, point=None, radius_km=0, page=1, size=0, cursor=None,
                     with_facets=True, sort=Sort.PERTINENCE)
    if tallies is not None:
        return _tallies(backend, plan, local, (common, tuple(national)), tallies)
    offset = (query.page - 1) * query.size
    k = offset + query.size + 1
    if plan.tsquery is not None or query.cursor or query.sort not in SORTS or k > TOP:
        return None
    return _page(backend, query, plan, local, (common, tuple(national), query.sort), offset, k)


def _tallies(backend, plan: _Plan, local: str, key: tuple, tallies: tuple[list[str], str]) -> dict:
    """The tallies of L, plus those of N (kept)."""
    inside, marker = tallies

    def national() -> dict:
        sql = union_sql(plan, ["d.zone && CAST(:national_zone AS text[])"])
        return tallies_of(backend.session, sql, dict(plan.params), inside, marker)

    kept = backend.cache.get(backend.session, ("national-tallies", *key, tuple(inside), marker), national)
    found = tallies_of(backend.session, local, plan.params, inside, marker)
    keys = dict(found["keys"])
    for name, counts in kept["keys"].items():
        mine = keys.get(name, (0, 0, 0, 0))
        keys[name] = tuple(a + b for a, b in zip(mine, counts, strict=True))
    totals = tuple(a + b for a, b in zip(found["totals"], kept["totals"], strict=True))
    return {"keys": keys, "totals": totals}


def _national(backend, query: SearchQuery, plan: _Plan, reference: date) -> dict:
    """N's total, facet counts and first TOP constant rows (id, distance, score, sortkey)."""
    sql = f"""
        WITH n AS MATERIALIZED (
            SELECT d.service_id AS id, d.keys AS facet_keys, d.fresh_date AS fresh,
                   d.on_site AND d.x IS NOT NULL AS placed
            FROM search_document d
            WHERE {' AND '.join(plan.where)} AND d.zone && CAST(:national_zone AS text[])
        ),
        sets AS (SELECT facet_keys, count(*) AS n FROM n GROUP BY facet_keys),
        c AS (SELECT id, CAST(NULL AS double precision) AS distance, {plan.rank} AS rank, fresh
              FROM n WHERE NOT placed),
        scored AS (SELECT id, distance, fresh, {score_sql(True)} AS score FROM c),
        p AS (SELECT id, distance, score, {SORT_KEYS[query.sort]} AS sortkey FROM scored
              ORDER BY sortkey, id LIMIT {TOP})
        SELECT (SELECT CAST(coalesce(sum(n), 0) AS bigint) FROM sets) AS total,
               (SELECT coalesce(json_agg(json_build_array(id, distance, score, CAST(sortkey AS text))
                                          ORDER BY sortkey, id), '[]') FROM p) AS hits,
               {FACETS_SQL} AS facets,
               (SELECT max(fresh) FROM n WHERE placed) AS freshest
    """
    row = backend.session.execute(text(sql), {**plan.params, "ref": reference}).one()
    # the largest freshness term of a placed row: what bounds their scores
    freshness = (None if row.freshest is None
                 else FRESHNESS_WEIGHT / (1 + max(0, (reference - row.freshest).days) / 365))
    return {"total": row.total, "hits": row.hits, "facets": row.facets or [], "freshness": freshness}


def _page(backend, query: SearchQuery, plan: _Plan, local: str, key: tuple, offset: int, k: int) -> SearchPage | None:
    reference = date.today()
    kept = backend.cache.get(backend.session, ("national-page", *key, reference),
                             lambda: _national(backend, query, plan, reference))
    # N's placed rows near enough to enter, read by L's statement (one round trip):
    # the k-th of N's constant rows bounds the k-th candidate from above, so its
    # bound holds (and is about as close: on the benchmark catalogue, 10.3 km
    # against 10.2 km from all the candidates' k-th).
    near = None
    if kept["freshness"] is not None and len(kept["hits"]) >= k:
        bound = _farthest(query.sort, float(kept["hits"][k - 1][3]), kept["freshness"])
        near = None if bound is None else _near_sql(query, plan, bound)
    sql, _ = backend._page_sql(query, plan, local, grouped=False,
                               extra=f", ({near}) AS near" if near else "")
    plan.params.update(limit=k, offset=0, ref=reference)  # L's first k: the page is cut from the merge
    row = backend.session.execute(text(sql), plan.params).one()
    candidates = [*row.hits, *kept["hits"][:k]]
    if near:
        candidates += row.near
    elif kept["freshness"] is not None:  # N has placed rows: those near enough may enter
        if len(candidates) < k:  # fewer than k others: any of them may, however far
            return None
        candidates.sort(key=_order)
        bound = _farthest(query.sort, float(candidates[k - 1][3]), kept["freshness"])
        if bound is None:
            return None
        candidates += backend.session.execute(text(_near_sql(query, plan, bound)), plan.params).scalar()
    candidates.sort(key=_order)
    facets = None
    if query.with_facets:
        counts: dict[str, int] = {}
        for name, n in [*(row.facets or []), *kept["facets"]]:
            counts[name] = counts.get(name, 0) + n
        facets = list(counts.items())
    merged = SimpleNamespace(hits=candidates[offset:k], total=row.total + kept["total"], facets=facets, matched=None)
    return backend._page(query, merged, reference, None)


def _order(hit) -> tuple[float, str]:
    """The order of the page query (sortkey, id) of a hit [id, distance, score,
    sortkey]: PostgreSQL orders uuids by their bytes, as their canonical text
    (lower-case hexadecimal, the hyphens at the same places) sorts."""
    return float(hit[3]), hit[0]


def _farthest(sort: Sort, last: float, freshness: float) -> float | None:
    """The farthest distance (metres) at which a placed national row may still come
    before or tie the k-th candidate of sort key `last`, their largest freshness
    term being `freshness`; None when unbounded."""
    if sort == Sort.DISTANCE:
        return last + 1.0 if last < 1e12 and last + 1.0 <= FARTHEST_M else None
    # score <= PROXIMITY_WEIGHT * proximity + the freshness term (no text: no rank)
    least = (-last - freshness - MARGIN) / PROXIMITY_WEIGHT - MARGIN
    if least <= 0:
        return None
    farthest = 10000.0 * (1.0 / least - 1.0) + 1.0 if least < 1 else 1.0
    return farthest if farthest <= FARTHEST_M else None


def _near_sql(query: SearchQuery, plan: _Plan, farthest: float) -> str:
    """The SQL of N's placed rows (distance-dependent scores) within `farthest`
    metres, scored: one JSON array of hits (its parameters put in plan.params)."""
    lon, lat = plan.point
    plan.params.update(near_cells=grid_cells(lon, lat, farthest),
                       near_dot=math.cos(min(farthest / EARTH_RADIUS_M, math.pi)))
    return f"""
        WITH b AS (
            SELECT d.service_id AS id, {plan.distance} AS distance, {plan.rank} AS rank, d.fresh_date AS fresh
            FROM search_document d
            WHERE {' AND '.join(plan.where)} AND d.zone && CAST(:national_zone AS text[])
              AND d.on_site AND d.x IS NOT NULL AND d.zone && CAST(:near_cells AS text[])
              AND (d.x * :px + d.y * :py + d.z * :pz) >= :near_dot
        ),
        scored AS (SELECT id, distance, fresh, {score_sql(True)} AS score FROM b)
        SELECT coalesce(json_agg(json_build_array(id, distance, score, CAST(sortkey AS text))), '[]')
        FROM (SELECT id, distance, score, {SORT_KEYS[query.sort]} AS sortkey FROM scored) s
    """


# --- kept ready after each change ----------------------------------------------------

# A commune with a position and little offer of its own: its search computes the
# national parts (the same for every place) for little more than their own cost.
WARM_PLACE_SQL = text(
    "SELECT c.code FROM geo_commune c WHERE c.type = 'COM' AND c.centre IS NOT NULL "
    "ORDER BY c.population NULLS FIRST, c.code LIMIT 1"
)


# The filters searched most often in the last four weeks (search_log: codes only,
# never a text), the place left out: what the first searches after a change will be.
FREQUENT_SQL = text("""
    SELECT thematiques, filters - 'origine' - 'rayon_km' - 'point' AS filters, count(*) AS n
    FROM search_log
    WHERE week >= CAST(:since AS date)
      AND NOT (filters ?| ARRAY['texte', 'territoire', 'ouvert_le'])
    GROUP BY 1, 2 ORDER BY n DESC, CAST(thematiques AS text), CAST(filters - 'origine' - 'rayon_km' - 'point' AS text)
    LIMIT :limit
""")
FILTER_FIELDS = ("publics", "frais", "types", "modes_accueil", "mobilisable_par", "sources")


def warm_queries(session, code: str, budget: int) -> list[SearchQuery]:
    """At most `budget` searches at `code`: without a thematique, each SPIE thematic,
    each category, then the filters searched most often (search_log), each once."""
    codes = dict.fromkeys([*(g.code for g in vocabulary.spie_groups()), *vocabulary.categories()])
    found = [SearchQuery(code_commune=code, thematiques=t) for t in [(), *((c,) for c in codes)]]
    since = date.fromordinal(date.today().toordinal() - 28)
    for row in session.execute(FREQUENT_SQL, {"since": since, "limit": budget}):
        filters = {f: tuple(row.filters.get(f) or ()) for f in FILTER_FIELDS}
        query = SearchQuery(code_commune=code, thematiques=tuple(row.thematiques or ()), **filters)
        if query not in found:
            found.append(query)
    return found[:budget]


def warm(session, cache, budget: int = 200, place: str | None = None) -> int:
    """Compute and keep in `cache` (search.service's `national`, shared by the web
    workers) the national parts of the commonest searches (warm_queries): the API's
    page (pertinence) and the results pages' filter counts, so that the first
    searches after a change do not pay them. Returns the number of searches run
    (0 without a placed commune); a search that the vocabulary no longer knows is
    left out."""
    code = place or session.scalar(WARM_PLACE_SQL)
    if code is None or budget <= 0:
        return 0
    count = 0
    for query in warm_queries(session, code, budget):
        backend = PostgresBackend(session, cache=cache)
        try:
            backend.search(query)
            click_counts(backend, query)
            if not any(getattr(query, f) for f in FILTER_FIELDS):  # the results page's other sort
                backend.search(replace(query, sort=Sort.DISTANCE))
        except InvalidQuery:
            continue
        count += 1
    return count
