"""The PostgreSQL engine (default): complete on its own.

Semantics are those of data·inclusion (docs: README, section « Recherche »):
eligible if the zone is empty or holds one of the commune's covering codes;
reachable if offered remotely or placed within the radius; AND across filters,
OR within one. Free text uses `search_document` (French stemming, unaccent,
weights A names, B labels, C description), synonyms and trigram typo correction.

Pertinence (higher first), every term in [0, 1]:
    score = 0.7 * text + 0.2 * proximity + 0.1 * freshness
    text      = ts_rank_cd(weights D 0.1, C 0.2, B 0.4, A 1.0, normalisation 32)
                (0 without free text)
    proximity = 1 / (1 + distance_km / 10) for a placed on-site service,
                0.5 for a remote one, 0 when no place is searched
    freshness = 1 / (1 + age_days / 365), age since the latest of date_maj and
                confirmed_at (else created_at)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from catalogue import vocabulary
from search import cursor as cursors
from search import queries, textquery
from search.contract import FACETS, Hit, SearchPage, SearchQuery, ServiceDocument, Sort
from search.errors import InvalidQuery, SearchUnavailable

WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
TEXT_WEIGHT, PROXIMITY_WEIGHT, FRESHNESS_WEIGHT = 0.7, 0.2, 0.1
REMOTE_PROXIMITY = 0.5
ON_SITE = "(s.modes_accueil = '{}' OR 'en-presentiel' = ANY (s.modes_accueil))"
# Distances on the sphere: within 0.5 % of the spheroid at these ranges, what
# Meilisearch's _geo uses, and far cheaper. The radius test is ST_DWithin with
# use_spheroid => false; the distance is the geography `<->` operator (sphere),
# about 20 times cheaper per row than ST_Distance on the same sphere.
SPHERE = "false"
FRESH_DATE = (
    "coalesce(greatest(s.date_maj, (s.confirmed_at AT TIME ZONE 'Europe/Paris')::date), "
    "(s.created_at AT TIME ZONE 'Europe/Paris')::date)"
)


class PostgresBackend:
    name = "postgres"

    def __init__(self, session: Session, *, explain_into: list | None = None):
        self.session = session
        # When a list is given, the plan (EXPLAIN ANALYZE) of each search is appended.
        self.explain_into = explain_into

    # --- the contract -------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchPage:
        try:
            return self._search(query)
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
        readers keep seeing the old documents until it commits."""
        from search.labels import refresh_labels

        refresh_labels(self.session)
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
        rows = self.session.scalars(
            text(
                """
                SELECT code FROM search_label
                WHERE kind IN ('thematique', 'categorie')
                  AND to_tsvector('french_unaccent', label) @@ CAST(:q AS tsquery)
                """
            ),
            {"q": tsquery},
        ).all()
        found: list[str] = []
        for code in rows:
            for t in vocabulary.expand_thematiques([code]):
                if t not in found:
                    found.append(t)
        return tuple(found)

    def _search(self, query: SearchQuery) -> SearchPage:
        s = self.session
        params: dict = {}
        where = ["TRUE"]
        if query.published_only:
            where.append("s.status = 'publie' AND st.status = 'publie'")
        if query.hide_duplicates:
            where.append("s.duplicate_of_id IS NULL")

        place = queries.resolve_place(s, query)
        if place is not None:
            params.update(
                covering=list(place.covering),
                lon=place.point[0],
                lat=place.point[1],
                radius_m=float(query.radius_km) * 1000.0,
            )
            point = "CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography)"
            where.append("(s.zone_eligibilite = '{}' OR s.zone_eligibilite && CAST(:covering AS text[]))")
            where.append(
                f"('a-distance' = ANY (s.modes_accueil) OR "
                f"(s.location IS NOT NULL AND ST_DWithin(s.location, {point}, :radius_m, {SPHERE})))"
            )
            distance = f"CASE WHEN s.location IS NOT NULL AND {ON_SITE} THEN s.location <-> {point} END"
        else:
            distance = "CAST(NULL AS double precision)"
            if query.sort == Sort.DISTANCE:
                raise InvalidQuery("tri", "le tri par distance demande une commune (code_commune) ou un point (lat, lon)")

        if query.thematiques:
            try:
                params["thematiques"] = vocabulary.expand_thematiques(query.thematiques)
            except KeyError as exc:
                raise InvalidQuery("thematiques", f"thématique inconnue : {exc.args[0]}") from None
            where.append("s.thematiques && CAST(:thematiques AS text[])")
        if query.publics:
            params["publics"] = sorted({*query.publics, vocabulary.TOUS_PUBLICS})
            where.append("s.publics && CAST(:publics AS text[])")
        if query.frais:
            params["frais"] = list(query.frais)
            where.append("s.frais = ANY (CAST(:frais AS text[]))")
        if query.types:
            params["types"] = list(query.types)
            where.append("s.type = ANY (CAST(:types AS text[]))")
        if query.modes_accueil:
            params["modes"] = list(query.modes_accueil)
            on_site_empty = (
                " OR s.modes_accueil = '{}'" if vocabulary.EN_PRESENTIEL in query.modes_accueil else ""
            )
            where.append(f"(s.modes_accueil && CAST(:modes AS text[]){on_site_empty})")
        if query.mobilisable_par:
            params["mobilisable_par"] = list(query.mobilisable_par)
            where.append("s.mobilisable_par && CAST(:mobilisable_par AS text[])")
        if query.sources:
            params["sources"] = list(query.sources)
            where.append("s.source = ANY (CAST(:sources AS text[]))")
        if query.structure is not None:
            queries.check_structure(s, query.structure)
            params["structure"] = query.structure
            where.append("s.structure_id = :structure")
        if query.territory:
            communes, zone = queries.territory_codes(s, query.territory)
            params.update(territory_communes=communes, territory_zone=zone)
            where.append(
                "(s.code_insee = ANY (CAST(:territory_communes AS text[])) "
                "OR s.zone_eligibilite && CAST(:territory_zone AS text[]))"
            )

        tsquery = textquery.build_tsquery(s, query.text) if query.text and query.text.strip() else None
        join = ""
        rank = "0"
        if tsquery is not None:
            params["tsq"] = tsquery
            join = "JOIN search_document d ON d.service_id = s.id"
            where.append("d.document @@ CAST(:tsq AS tsquery)")
            rank = f"ts_rank_cd('{WEIGHTS}', d.document, CAST(:tsq AS tsquery), 32)"

        if query.open_at is not None:
            rows = s.execute(
                text(
                    f"SELECT s.id, coalesce(s.horaires_accueil, st.horaires_accueil) "
                    f"FROM service s JOIN structure st ON st.id = s.structure_id {join} "
                    f"WHERE {' AND '.join(where)}"
                ),
                params,
            ).all()
            params["open_ids"] = queries.open_ids(rows, query.open_at)
            where.append("s.id = ANY (CAST(:open_ids AS uuid[]))")

        cursor = cursors.decode(query.cursor, query) if query.cursor else None
        reference = cursor.reference_date if cursor else date.today()
        params["ref"] = reference
        proximity = (
            f"(CASE WHEN distance IS NULL THEN {REMOTE_PROXIMITY} ELSE 1.0 / (1 + distance / 10000.0) END)"
            if place is not None
            else "0"
        )
        # Double precision all along (numeric arithmetic per row costs several
        # times more), rounded to 6 decimals so that ties are ties.
        score = (
            f"round(({TEXT_WEIGHT} * CAST(rank AS double precision) + {PROXIMITY_WEIGHT} * {proximity} "
            f"+ {FRESHNESS_WEIGHT} / (1 + greatest(0, :ref - fresh) / CAST(365 AS double precision))) "
            f"* 1e6) / 1e6"
        )
        sort_key = {
            Sort.PERTINENCE: "-score",
            Sort.DISTANCE: "coalesce(round(distance * 1000) / 1000, 1e12)",
            Sort.FRAICHEUR: "-CAST(fresh - DATE '2000-01-01' AS double precision)",
        }[query.sort]

        keyset = "TRUE"
        offset = 0
        if cursor is not None:
            keyset = "(sortkey, id) > (CAST(:ck AS double precision), CAST(:cid AS uuid))"
            params.update(ck=cursor.key, cid=cursor.id)
        else:
            offset = (query.page - 1) * query.size
        params.update(limit=query.size + 1, offset=offset)

        facets_sql = _facets_sql(params) if query.with_facets else "NULL"

        sql = f"""
            WITH base AS (
                SELECT s.id, s.thematiques, s.publics, s.frais, s.type, s.modes_accueil, s.source,
                       {distance} AS distance, {rank} AS rank, {FRESH_DATE} AS fresh
                FROM service s
                JOIN structure st ON st.id = s.structure_id
                {join}
                WHERE {' AND '.join(where)}
            ),
            scored AS (SELECT base.*, {score} AS score FROM base),
            m AS MATERIALIZED (SELECT scored.*, {sort_key} AS sortkey FROM scored),
            p AS (
                SELECT id, distance, score, sortkey FROM m WHERE {keyset}
                ORDER BY sortkey, id LIMIT :limit OFFSET :offset
            )
            SELECT (SELECT count(*) FROM m) AS total,
                   (SELECT coalesce(json_agg(json_build_array(id, distance, score, CAST(sortkey AS text))
                                              ORDER BY sortkey, id), '[]') FROM p) AS hits,
                   {facets_sql} AS facets
        """
        if self.explain_into is not None:
            plan = s.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql), params).scalars().all()
            self.explain_into.append("\n".join(plan))
        row = s.execute(text(sql), params).one()
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
        for name, value, count in row.facets or []:
            if count:
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
            matched_thematiques=self.matched_thematiques(tsquery) if tsquery else (),
        )


def _facets_sql(params: dict) -> str:
    """Facet counts over the whole result set `m`, as rows (facet, value, count).

    A category or a SPIE group counts the services that its filter would find (any
    of its thematiques), each once: the thematiques of `m` are unnested and
    joined to the table thematique -> (facet, value), deduplicated per service
    (hash), then counted. Publics are unnested once; frais, types and sources are grouped in one
    pass (grouping sets); modes d'accueil are two filtered counts."""
    rows = _grouped_thematiques()
    params.update(fx_t=[r[0] for r in rows], fx_f=[r[1] for r in rows], fx_v=[r[2] for r in rows])
    return """(
    SELECT json_agg(r) FROM (
        SELECT json_build_array('thematiques', t, count(*)) AS r FROM m, unnest(m.thematiques) t GROUP BY t
        UNION ALL
        SELECT json_build_array(f, v, count(*)) FROM (
            SELECT DISTINCT m.id, x.f, x.v
            FROM m CROSS JOIN LATERAL unnest(m.thematiques) AS u(t)
            JOIN unnest(CAST(:fx_t AS text[]), CAST(:fx_f AS text[]), CAST(:fx_v AS text[])) AS x(t, f, v)
              ON x.t = u.t
        ) grouped GROUP BY f, v
        UNION ALL
        SELECT json_build_array('publics', p, count(*)) FROM m, unnest(m.publics) p GROUP BY p
        UNION ALL
        SELECT json_build_array(CASE WHEN grouping(m.frais) = 0 THEN 'frais'
                                     WHEN grouping(m.type) = 0 THEN 'types' ELSE 'sources' END,
                                coalesce(m.frais, m.type, m.source), count(*))
        FROM m GROUP BY GROUPING SETS ((m.frais), (m.type), (m.source))
        HAVING coalesce(m.frais, m.type, m.source) IS NOT NULL
        UNION ALL
        SELECT json_build_array('modes_accueil', 'a-distance',
                                count(*) FILTER (WHERE 'a-distance' = ANY (m.modes_accueil)))
        FROM m
        UNION ALL
        SELECT json_build_array('modes_accueil', 'en-presentiel', count(*) FILTER
                                (WHERE m.modes_accueil = '{}' OR 'en-presentiel' = ANY (m.modes_accueil)))
        FROM m
    ) facet_rows
)"""


@cache
def _grouped_thematiques() -> tuple[tuple[str, str, str], ...]:
    """(thematique, facet, value): each thematique under its category and its
    SPIE group."""
    rows: list[tuple[str, str, str]] = []
    for c in vocabulary.categories():
        rows += [(t, "categories", c) for t in vocabulary.expand_thematiques([c])]
    for g in vocabulary.spie_groups():
        rows += [(t, "thematiques_spie", g.code) for t in vocabulary.expand_thematiques([g.code])]
    return tuple(rows)
