"""The PostgreSQL engine (default): complete on its own.

Every search reads the narrow search table `search_document` alone (search/models.py,
migration 0010), never the wide service rows. Semantics are those of data·inclusion
(docs: README, section « Recherche »):
eligible if the zone is empty or holds one of the commune's covering codes;
reachable if offered remotely or placed within the radius; AND across filters,
OR within one. Free text uses `search_document` (French stemming, unaccent,
weights A names, B labels, C description), synonyms and trigram typo correction.

Pertinence (higher first), every term in [0, 1]:
    score = 0.7 * text + 0.2 * proximity + 0.1 * freshness
    text      = ts_rank(weights D 0.1, C 0.2, B 0.4, A 1.0, normalisation 32)
                (0 without free text). ts_rank, not ts_rank_cd: the cover density
                (how close the query's words lie) cost 1.2 µs per matching row,
                70 ms of a broad text search at 1,000,000 services, for queries
                of one or two words where it changes little (docs/performance.md)
    proximity = 1 / (1 + distance_km / 10) for a placed on-site service,
                0.5 for a remote one, 0 when no place is searched
    freshness = 1 / (1 + age_days / 365), age since the latest of date_maj and
                confirmed_at (else created_at): service.fresh_date, a generated column

Filters are overlaps of key ids (search_document.keys, one GIN index); facets count
those keys over the whole result set, in one pass.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from catalogue import facet_keys, vocabulary
from search import cursor as cursors
from search import queries, textquery
from search.cache import SearchCache
from search.contract import FACETS, Hit, SearchPage, SearchQuery, ServiceDocument, Sort
from search.errors import InvalidQuery, SearchUnavailable
from search.queries import EARTH_RADIUS_M, GRID_DEGREES, grid_cells, unit_vector  # noqa: F401 (theirs)
from search.tallies import count as tallies_of

WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
TEXT_WEIGHT, PROXIMITY_WEIGHT, FRESHNESS_WEIGHT = 0.7, 0.2, 0.1
REMOTE_PROXIMITY = 0.5
# Parallel workers only for the largest searches: on the 2 shared cores measured
# (docs/performance.md, 2026-12-01), starting workers cost more than they saved up
# to broad searches of 100,000 services (a commune and a thematique: 50 -> 25 ms of
# wall time; a commune alone, 34,500 offers: 250 -> 225 ms), not for national
# ones (a typo over 1,000,000 services: 1.4 -> 1.0 s). The planner weighs this
# setup cost (its units) against the serial plan, which costs about 1e6 for the
# former and 3.6e6 or more for the latter. Set for the search's statements only
# (set_config local to the transaction, then put back).
PARALLEL_SETTING = "parallel_setup_cost"
PARALLEL_SETUP_COST = "1500000"
SERIAL_ON = f"current_setting(:n) AS previous, set_config(:n, '{PARALLEL_SETUP_COST}', true) AS serial"
SERIAL_OFF = text("SELECT set_config(:n, :v, true)")
# The ids of the filters' keys (search_key): {key: id}, NULL if none is known.
KEY_IDS_SQL = "(SELECT json_object_agg(key, id) FROM search_key WHERE key = ANY (CAST(:k AS text[]))) AS key_ids"
# Facet counts over the whole result set `m`: every search row carries the ids of
# its keys (`<facet>:<value>`, each once: catalogue/facet_keys.py, then ids of
# search_key in search_document.keys), so one pass counts them all (unnest in the
# select list, a ProjectSet: a fifth cheaper than a lateral join's Function Scan,
# which fills a tuplestore per row), and only the counted ids are named.
# A category or a SPIE group counts the services that its filter would find
# (any of its thematiques), each once.
# Rows share their key sets (a catalogue has far fewer distinct sets than offers):
# the rows are counted per set (`sets`, whose sum is the total: one pass over the
# result set for both), and only the distinct sets are unnested.
FACETS_SQL = """(
    SELECT json_agg(json_build_array(k.key, f.n)) FROM (
        SELECT u.id, sum(u.n) AS n FROM (SELECT unnest(c.facet_keys) AS id, c.n FROM sets c) u GROUP BY u.id
    ) f JOIN search_key k ON k.id = f.id
)"""


# The thematique and category codes whose labels the free text (:tsq) matches: the
# labels' vectors are stored (search_key.vector), nothing stemmed here. A scalar
# subquery of the page's statement (one round trip less) or a query of its own.
MATCHED_SQL = """(
    SELECT coalesce(array_agg(split_part(key, ':', 2) ORDER BY key), '{}') FROM search_key
    WHERE (key LIKE 'thematiques:%' OR key LIKE 'categories:%') AND vector @@ CAST(:tsq AS tsquery)
)"""


def expand_matched(codes) -> tuple[str, ...]:
    """MATCHED_SQL's codes as thematiques (a category gives its own), each once."""
    found: list[str] = []
    for code in codes or ():
        for t in vocabulary.expand_thematiques([code]):
            if t not in found:
                found.append(t)
    return tuple(found)


# The query's key filters, field by field (search.facet_counts counts with the same).
KEY_FILTER_FIELDS = ("thematiques", "publics", "frais", "types", "modes_accueil", "mobilisable_par", "sources")
INDEXED_FILTERS = {"thematiques", "sources"}


def thematique_key(code: str) -> str:
    """The search key of a thematique, a category or a SPIE group code."""
    found = facet_keys.thematique_key(code)
    if found is None:
        raise InvalidQuery("thematiques", f"thématique inconnue : {code}")
    return found


def filter_keys(query: SearchQuery) -> dict[str, list[str]]:
    """field -> the keys a row must have one of (OR within a field, AND across
    fields). A public also matches « tous publics »; modes_accueil:en-presentiel is
    also the key of a service without a mode (catalogue/facet_keys.py)."""
    found: dict[str, list[str]] = {}
    for field in KEY_FILTER_FIELDS:
        values = getattr(query, field)
        if not values:
            continue
        if field == "thematiques":
            found[field] = [thematique_key(code) for code in values]
        elif field == "publics":
            found[field] = facet_keys.public_filter_keys(values)
        else:
            found[field] = [facet_keys.key(field, v) for v in values]
    return found


@dataclass(frozen=True)
class _Prelude:
    """What the first statement of a search read: the parallel setting it replaced
    (put back after the search), the row of the searched place (search.queries.place_sql;
    None when the query has no place) and the ids of the filters' keys."""

    previous: str
    place_row: object | None
    key_ids: dict[str, int]


@dataclass
class _Plan:
    """The conditions of one search on search_document `d`: its WHERE clauses,
    the branches of its UNION ALL (remote, on site) and their parameters."""

    facet_keys: str
    where: list[str] = dataclasses.field(default_factory=lambda: ["TRUE"])
    branches: list[str] = dataclasses.field(default_factory=lambda: ["TRUE"])
    params: dict = dataclasses.field(default_factory=dict)
    distance: str = "CAST(NULL AS double precision)"
    rank: str = "0"
    placed: bool = False
    point: tuple[float, float] | None = None  # the searched place (lon, lat)
    tsquery: str | None = None


def union_sql(plan: _Plan, branches: list[str]) -> str:
    """The rows of the plan's search in these branches (id, facet_keys, distance,
    rank, fresh)."""
    return " UNION ALL ".join(
        f"""
            SELECT d.service_id AS id, {plan.facet_keys} AS facet_keys,
                   {plan.distance} AS distance, {plan.rank} AS rank, d.fresh_date AS fresh
            FROM search_document d
            WHERE {' AND '.join(plan.where)} AND {branch}"""
        for branch in branches
    )


def score_sql(placed: bool) -> str:
    """The score of a row of columns rank, distance and fresh (see the module), with
    the reference date :ref. Double precision all along (numeric arithmetic per row
    costs several times more), rounded to 6 decimals so that ties are ties."""
    proximity = (f"(CASE WHEN distance IS NULL THEN {REMOTE_PROXIMITY} ELSE 1.0 / (1 + distance / 10000.0) END)"
                 if placed else "0")
    return (f"round(({TEXT_WEIGHT} * CAST(rank AS double precision) + {PROXIMITY_WEIGHT} * {proximity} "
            f"+ {FRESHNESS_WEIGHT} / (1 + greatest(0, :ref - fresh) / CAST(365 AS double precision))) * 1e6) / 1e6")


# The sort key of a scored row (columns score, distance, fresh): ascending, then the id.
SORT_KEYS = {
    Sort.PERTINENCE: "-score",
    Sort.DISTANCE: "coalesce(round(distance * 1000) / 1000, 1e12)",
    Sort.FRAICHEUR: "-CAST(fresh - DATE '2000-01-01' AS double precision)",
}


class PostgresBackend:
    name = "postgres"

    def __init__(self, session: Session, *, explain_into: list | None = None, restore: bool = True,
                 cache: SearchCache | None = None):
        self.session = session
        # The cache of what does not depend on the place (search.national): None, none.
        self.cache = cache if cache is not None and cache.size else None
        # When a list is given, the plan (EXPLAIN ANALYZE) of each search is appended.
        self.explain_into = explain_into
        # False: the parallel setting is left to the end of the transaction (one round
        # trip less), for a caller whose transaction then only reads rows by id.
        self.restore = restore

    @classmethod
    def connect(cls, options=None):
        """session -> engine (search.service's registry): nothing to set up."""
        return cls

    # --- the contract -------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchPage:
        try:
            prelude = self._prelude(query)
            aborted = False
            try:
                return self._search(query, prelude)
            except DBAPIError:
                aborted = True  # the transaction's rollback puts the setting back
                raise
            finally:
                if not aborted and self.restore:
                    self.session.execute(SERIAL_OFF, {"n": PARALLEL_SETTING, "v": prelude.previous})
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise SearchUnavailable("base de données injoignable") from exc
            raise

    def index(self, documents: Iterable[ServiceDocument]) -> None:
        """Recompute the documents of these services from the catalogue (triggers
        already do it on every change; this is for repairs)."""
        ids = [d.id for d in documents]
        if ids:
            self.session.execute(text("SELECT search_refresh(CAST(:ids AS uuid[]))"), {"ids": ids})

    def delete(self, ids: Iterable[uuid.UUID]) -> None:
        """Nothing to remove: archived and unpublished services are excluded at
        query time by their status, which the catalogue keeps."""

    def rebuild(self, documents: Iterable[ServiceDocument] | None = None) -> int:
        """Recompute every document (labels included) in the current transaction:
        readers keep seeing the old documents until it commits. The documents are
        computed from the catalogue (`documents` is not read). Returns their number."""
        from search.labels import refresh_keys, refresh_labels

        refresh_labels(self.session)
        refresh_keys(self.session)
        self.session.execute(text("SELECT search_refresh(ARRAY(SELECT id FROM service))"))
        return self.session.scalar(text("SELECT count(*) FROM search_document"))

    def check(self) -> None:
        try:
            self.session.execute(text("SELECT 1 FROM search_document LIMIT 1"))
        except DBAPIError as exc:
            raise SearchUnavailable(str(exc.orig)) from exc

    # --- the query ----------------------------------------------------------
    def matched_thematiques(self, tsquery: str) -> tuple[str, ...]:
        """Thematiques whose label (or category's label) the free text matches."""
        return expand_matched(self.session.scalar(text(f"SELECT {MATCHED_SQL}"), {"tsq": tsquery}))

    def _key_filters(self, query: SearchQuery) -> list[tuple[bool, list[str]]]:
        """The key filters of the query: each (indexed, keys), matching a row that
        has any of the keys (AND across the filters). A thematique, a category or a
        SPIE group is one key each (the facet keys say whether a service has any
        thematique of it). Only thematiques and sources go to the GIN index: the
        other families are each held by a large share of a catalogue (tous-publics,
        gratuit, professionnels…), whose long posting lists cost more to read than
        testing the rows that the zone, the place and the thematiques leave."""
        return [(field in INDEXED_FILTERS, keys) for field, keys in filter_keys(query).items()]

    def _prelude(self, query: SearchQuery) -> _Prelude:
        """The first statement of a search, one round trip instead of three: the
        parallel setting for the search's statements (SERIAL_ON), the place row and
        the ids of the filters' keys (search_key: a key's id never changes). Checks
        nothing: _plan raises what is wrong, in its order."""
        params: dict = {"n": PARALLEL_SETTING}
        columns, joins = [SERIAL_ON], ""
        place = queries.place_sql(query)
        if place is not None:
            params.update(place[1])
            columns.append("pl.*")
            joins = f" LEFT JOIN LATERAL ({place[0]}) pl ON TRUE"
        try:
            wanted = sorted({k for _, keys in self._key_filters(query) for k in keys})
        except InvalidQuery:
            wanted = []  # raised by _plan, after what is checked before
        if wanted:
            params["k"] = wanted
            columns.append(KEY_IDS_SQL)
        row = self.session.execute(text(f"SELECT {', '.join(columns)} FROM (SELECT 1) one{joins}"), params).one()
        return _Prelude(row.previous, row if place is not None else None, (row.key_ids if wanted else None) or {})

    def _key_conditions(self, filters: list[tuple[bool, list[str]]], params: dict, ids: dict[str, int]) -> list[str]:
        """SQL of the key filters, with the ids of their keys (`ids`, from the
        prelude) in `params` (a key that no service ever had has no id: a filter left
        with none matches nothing). `arrayoverlap` is the function of `&&`, called
        by name so that the planner tests it on the rows instead of reading the index."""
        conditions = []
        for i, (indexed, keys) in enumerate(filters):
            params[f"k{i}"] = [ids[k] for k in keys if k in ids]
            key_ids = f"CAST(:k{i} AS integer[])"
            conditions.append(f"d.keys && {key_ids}" if indexed else f"arrayoverlap(d.keys, {key_ids})")
        return conditions

    def key_tallies(self, query: SearchQuery, inside_keys: list[str], marker: str) -> dict:
        """Over the query's whole result set, split into the rows that have one of
        `inside_keys` (inside) and the others (outside): per search key, the rows that
        have it, and those that have it and `marker` too; and the totals likewise.
        {"keys": {key: (in, out, in_with_marker, out_with_marker)}, "totals": (…)}:
        what search.facet_counts needs to count any filter added to the query."""
        query = replace(query, with_facets=True, cursor=None, page=1)
        prelude = self._prelude(query)
        try:
            return self._search(query, prelude, tallies=(inside_keys, marker))
        finally:
            self.session.execute(SERIAL_OFF, {"n": PARALLEL_SETTING, "v": prelude.previous})

    def _search(self, query: SearchQuery, prelude: _Prelude, tallies: tuple[list[str], str] | None = None):
        plan = self._plan(query, prelude)
        if self.cache is not None and self.explain_into is None:
            from search import national  # (it builds on this module)

            found = national.answer(self, query, plan, tallies)
            if found is not None:
                return found
        union = union_sql(plan, plan.branches)
        if tallies is not None:
            return tallies_of(self.session, union, plan.params, *tallies)
        sql, reference = self._page_sql(query, plan, union)
        if self.explain_into is not None:
            explained = self.session.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql), plan.params)
            self.explain_into.append("\n".join(explained.scalars().all()))
        row = self.session.execute(text(sql), plan.params).one()
        return self._page(query, row, reference, plan.tsquery)

    def _plan(self, query: SearchQuery, prelude: _Prelude) -> _Plan:
        """The conditions of the search (on search_document `d`) and their parameters."""
        s = self.session
        plan = _Plan(facet_keys="d.keys" if query.with_facets else "NULL")
        if query.published_only:
            plan.where.append("d.visible")
        if query.hide_duplicates:
            plan.where.append("NOT d.duplicate")
        self._place(query, plan, prelude)
        plan.where += self._key_conditions(self._key_filters(query), plan.params, prelude.key_ids)
        if query.structure is not None:
            queries.check_structure(s, query.structure)
            plan.params["structure"] = query.structure
            plan.where.append("d.structure_id = :structure")
        if query.territory:
            communes, zone = queries.territory_codes(s, query.territory)
            plan.params.update(territory_communes=communes,
                               territory_zone=[f"{p}:{z}" for z in zone for p in "rp"])
            plan.where.append(
                "(d.code_insee = ANY (CAST(:territory_communes AS text[])) "
                "OR d.zone && CAST(:territory_zone AS text[]))"
            )
        plan.tsquery = textquery.build_tsquery(s, query.text) if query.text and query.text.strip() else None
        if plan.tsquery is not None:
            plan.params["tsq"] = plan.tsquery
            plan.where.append("d.document @@ CAST(:tsq AS tsquery)")
            plan.rank = f"ts_rank('{WEIGHTS}', d.document, CAST(:tsq AS tsquery), 32)"
        if query.open_at is not None:
            self._open_at(query, plan)
        return plan

    def _place(self, query: SearchQuery, plan: _Plan, prelude: _Prelude) -> None:
        """Eligible and reachable from the searched place, and the distance to it."""
        place = queries.place_of(query, prelude.place_row) if prelude.place_row is not None else None
        plan.placed, plan.point = place is not None, place.point if place is not None else None
        if place is None:
            if query.sort == Sort.DISTANCE:
                raise InvalidQuery("tri", "le tri par distance demande une commune (code_commune) ou un point (lat, lon)")
            return
        covering = ["*", *place.covering]
        radius_m = float(query.radius_km) * 1000.0
        px, py, pz = unit_vector(*place.point)
        plan.params.update(
            remote_zone=[f"r:{c}" for c in covering],
            on_site_zone=[f"p:{c}" for c in covering],
            radius_m=radius_m,
            px=px, py=py, pz=pz,
            min_dot=math.cos(min(radius_m / EARTH_RADIUS_M, math.pi)),
        )
        plan.params["cells"] = grid_cells(place.point[0], place.point[1], radius_m)
        dot = "(d.x * :px + d.y * :py + d.z * :pz)"
        # Eligible and reachable: offered remotely to a zone that covers the
        # commune, or on site only, to such a zone, and placed within the radius.
        # Two branches of a UNION ALL (a row is in one only: its zone codes carry
        # its reach), so that the radius is tested on the on-site rows alone.
        # The grid cells that the radius's box touches narrow the on-site rows in
        # the same GIN scan as the zone and the keys; the unit vectors decide
        # exactly. (A GiST box test, when the planner left it as a filter, cost
        # 1.2 µs per row: 44 ms of a broad search.)
        plan.branches = [
            "d.zone && CAST(:remote_zone AS text[])",
            f"d.zone && CAST(:on_site_zone AS text[]) AND d.zone && CAST(:cells AS text[]) "
            f"AND {dot} >= :min_dot",
        ]
        plan.distance = f"CASE WHEN d.on_site AND d.x IS NOT NULL THEN {EARTH_RADIUS_M} * acos(least(1.0, {dot})) END"

    def _open_at(self, query: SearchQuery, plan: _Plan) -> None:
        """Only the services open at query.open_at (their hours read in Python)."""
        rows = self.session.execute(
            text(
                f"SELECT s.id, coalesce(s.horaires_accueil, st.horaires_accueil) "
                f"FROM search_document d JOIN service s ON s.id = d.service_id "
                f"JOIN structure st ON st.id = s.structure_id "
                f"WHERE {' AND '.join(plan.where)} AND ({' OR '.join(f'({b})' for b in plan.branches)})"
            ),
            plan.params,
        ).all()
        plan.params["open_ids"] = queries.open_ids(rows, query.open_at)
        plan.where.append("d.service_id = ANY (CAST(:open_ids AS uuid[]))")

    def _page_sql(self, query: SearchQuery, plan: _Plan, union: str, grouped: bool = True,
                  extra: str = "") -> tuple[str, date]:
        """The SQL of one page (scored, sorted, cut by the cursor or the page), with
        its total and facets; and the reference date of freshness. `grouped`: the
        rows' key sets are counted once each (many rows share them: the national
        remote offers); else each row's (the local rows of search.national, nearly
        all different). `extra`: more columns of the statement's one row."""
        params = plan.params
        cursor = cursors.decode(query.cursor, query) if query.cursor else None
        reference = cursor.reference_date if cursor else date.today()
        params["ref"] = reference
        score, sort_key = score_sql(plan.placed), SORT_KEYS[query.sort]
        keyset = "TRUE"
        offset = 0
        if cursor is not None:
            keyset = "(sortkey, id) > (CAST(:ck AS double precision), CAST(:cid AS uuid))"
            params.update(ck=cursor.key, cid=cursor.id)
        else:
            offset = (query.page - 1) * query.size
        params.update(limit=query.size + 1, offset=offset)
        facets_sql = FACETS_SQL if query.with_facets else "NULL"
        sql = f"""
            WITH base AS ({union}),
            scored AS (SELECT id, facet_keys, distance, fresh, {score} AS score FROM base),
            m AS MATERIALIZED (
                SELECT id, facet_keys, distance, score, {sort_key} AS sortkey FROM scored
            ),
            sets AS ({"SELECT facet_keys, count(*) AS n FROM m GROUP BY facet_keys" if grouped
                      else "SELECT facet_keys, 1 AS n FROM m"}),
            p AS (
                SELECT id, distance, score, sortkey FROM m WHERE {keyset}
                ORDER BY sortkey, id LIMIT :limit OFFSET :offset
            )
            SELECT (SELECT CAST(coalesce(sum(n), 0) AS bigint) FROM sets) AS total,
                   (SELECT coalesce(json_agg(json_build_array(id, distance, score, CAST(sortkey AS text))
                                              ORDER BY sortkey, id), '[]') FROM p) AS hits,
                   {facets_sql} AS facets,
                   {MATCHED_SQL if plan.tsquery else 'NULL'} AS matched{extra}
        """
        return sql, reference

    def _page(self, query: SearchQuery, row, reference: date, tsquery: str | None) -> SearchPage:
        """The SearchPage of the page query's row: hits, next cursor, facets."""
        rows = row.hits[: query.size]
        hits = tuple(
            Hit(id=uuid.UUID(r[0]), score=float(r[2]), distance_m=(round(r[1], 1) if r[1] is not None else None))
            for r in rows
        )
        next_cursor = None
        if len(row.hits) > query.size and rows:
            last = rows[-1]
            next_cursor = cursors.Cursor(
                key=str(Decimal(last[3])),
                id=uuid.UUID(last[0]),
                fingerprint=cursors.query_fingerprint(query),
                reference_date=reference,
            ).encode()
        facets: dict[str, dict[str, int]] = {name: {} for name in FACETS} if query.with_facets else {}
        for key, count in row.facets or []:
            name, value = key.split(":", 1)
            if name in facets:
                facets[name][value] = count
        for name in facets:
            facets[name] = dict(sorted(facets[name].items(), key=lambda kv: (-kv[1], kv[0])))
        return SearchPage(
            hits=hits,
            total=row.total,
            page=query.page,
            size=query.size,
            next_cursor=next_cursor,
            facets=facets,
            matched_thematiques=expand_matched(row.matched) if tsquery else (),
        )
