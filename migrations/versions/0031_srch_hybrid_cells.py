"""srch_hybrid_cells: the search rows of places received on site and remotely carry
their grid cell too (issue #22)

Revision ID: 0031_srch_hybrid_cells
Revises: 0030_imp_first_import

The grid cell of a place (`g:<row>:<column>`, search.postgres.GRID_DEGREES) was
written for on-site-only offers; an offer received both on site and remotely (a
`r:` zone) had none, so that its distance from a searched place could only be
computed by reading every such row. With its cell, search.national reads the few
national hybrid offers near the place that may enter the first page instead of
the thousands that cannot. The on-site branch of a search tests `p:` zones: a row
with `r:` zones is never found by it, cell or not; nothing a search returns changes.
Frozen text of search/sql/search_refresh_rows.sql at this revision and before.
"""

from alembic import op

revision = "0031_srch_hybrid_cells"
down_revision = "0030_imp_first_import"
branch_labels = None
depends_on = None

NEW = r"""-- Write the search rows of these services; returns the ids of those that have a
-- key without an id yet (their rows are written without it).
-- The ids are joined, never tested with = ANY (a parameter array is searched
-- linearly for each row: quadratic for a whole catalogue). Keys and label vectors
-- come from one join with search_key for the batch: the labels are stemmed once
-- per key (search_key.vector), not once per service. Rows are written national
-- remote offers first, then by commune, so that rows found together share pages
-- (migration 0011); a row is hidden as a duplicate only when its link is sure
-- (duplicate_hidden, migration 0015).
CREATE OR REPLACE FUNCTION public.search_refresh_rows(ids uuid[])
 RETURNS uuid[]
 LANGUAGE plpgsql
AS $function$
DECLARE
  incomplete uuid[];
BEGIN
  WITH src AS MATERIALIZED (
    SELECT s.id, s.nom, st.nom AS structure_nom, s.description, s.modes_accueil,
           s.zone_eligibilite, s.thematiques, s.location, s.structure_id, s.code_insee, s.fresh_date,
           s.status = 'publie' AND st.status = 'publie' AS visible,
           s.duplicate_hidden AS duplicate
    FROM unnest(ids) AS i(id)
    JOIN service s ON s.id = i.id
    JOIN structure st ON st.id = s.structure_id
  ),
  keyed AS MATERIALIZED (
    SELECT n.service_id AS id,
           coalesce(array_agg(k.id ORDER BY k.id) FILTER (WHERE k.id IS NOT NULL), '{}') AS keys,
           tsvector_agg(k.vector ORDER BY k.id) FILTER (WHERE k.vector IS NOT NULL) AS labels,
           bool_or(k.id IS NULL) AS incomplete
    FROM search_named_keys(ids) n LEFT JOIN search_key k ON k.key = n.key
    GROUP BY n.service_id
  ),
  documents AS (
    INSERT INTO search_document AS d (service_id, document, visible, duplicate, remote, on_site,
                                      zone, x, y, z, structure_id, code_insee, fresh_date, keys)
    SELECT src.id,
           setweight(to_tsvector('french_unaccent', coalesce(src.nom, '') || ' ' || coalesce(src.structure_nom, '')), 'A')
        || setweight(coalesce(kk.labels, ''), 'B')
        || setweight(to_tsvector('french_unaccent', coalesce(src.description, '')), 'C'),
           src.visible, src.duplicate,
           'a-distance' = ANY (src.modes_accueil),
           src.modes_accueil = '{}' OR 'en-presentiel' = ANY (src.modes_accueil),
           ARRAY(SELECT CASE WHEN 'a-distance' = ANY (src.modes_accueil) THEN 'r:' ELSE 'p:' END || z
                 FROM unnest(CASE WHEN src.zone_eligibilite = '{}' THEN ARRAY['*']
                                  ELSE src.zone_eligibilite END) AS z)
           -- The grid cell of a place received on site (search.postgres.GRID_DEGREES),
           -- offered remotely too or not (search.national bounds those by distance).
           || CASE WHEN src.location IS NOT NULL
                        AND (src.modes_accueil = '{}' OR 'en-presentiel' = ANY (src.modes_accueil))
                   THEN ARRAY['g:' || floor(ST_Y(src.location::geometry) / 0.25) || ':'
                              || floor(ST_X(src.location::geometry) / 0.25)]
                   ELSE '{}' END,
           cos(radians(ST_Y(src.location::geometry))) * cos(radians(ST_X(src.location::geometry))),
           cos(radians(ST_Y(src.location::geometry))) * sin(radians(ST_X(src.location::geometry))),
           sin(radians(ST_Y(src.location::geometry))),
           src.structure_id, src.code_insee, src.fresh_date, coalesce(kk.keys, '{}')
    FROM src LEFT JOIN keyed kk ON kk.id = src.id
    -- National remote offers first, by their first thematique (so by category),
    -- then the others by commune: rows found together share pages.
    ORDER BY NOT ('a-distance' = ANY (src.modes_accueil) AND (src.zone_eligibilite = '{}' OR 'france' = ANY (src.zone_eligibilite))),
             CASE WHEN 'a-distance' = ANY (src.modes_accueil) AND (src.zone_eligibilite = '{}' OR 'france' = ANY (src.zone_eligibilite)) THEN src.thematiques[1] END,
             src.code_insee, src.id
    ON CONFLICT (service_id) DO UPDATE SET
      document = EXCLUDED.document, visible = EXCLUDED.visible, duplicate = EXCLUDED.duplicate,
      remote = EXCLUDED.remote, on_site = EXCLUDED.on_site, zone = EXCLUDED.zone,
      x = EXCLUDED.x, y = EXCLUDED.y, z = EXCLUDED.z,
      structure_id = EXCLUDED.structure_id,
      code_insee = EXCLUDED.code_insee, fresh_date = EXCLUDED.fresh_date, keys = EXCLUDED.keys
  ),
  -- Words of the names (each distinct name once) for typo correction: one string,
  -- unaccented and split once (twice as fast as a call per name).
  words AS (
    INSERT INTO search_word (word)
    SELECT DISTINCT w
    FROM regexp_split_to_table(lower(f_unaccent(
           (SELECT string_agg(n, ' ') FROM (SELECT nom FROM src UNION SELECT structure_nom FROM src) names(n))
         )), '[^a-z0-9]+') w
    WHERE length(w) >= 3
    -- One order for every transaction: two import batches written at once, adding
    -- the same new words, wait for each other but never deadlock.
    ORDER BY w
    ON CONFLICT DO NOTHING
  )
  SELECT array_agg(id) INTO incomplete FROM keyed WHERE keyed.incomplete;
  RETURN incomplete;
END $function$;
"""

PREVIOUS = r"""-- Write the search rows of these services; returns the ids of those that have a
-- key without an id yet (their rows are written without it).
-- The ids are joined, never tested with = ANY (a parameter array is searched
-- linearly for each row: quadratic for a whole catalogue). Keys and label vectors
-- come from one join with search_key for the batch: the labels are stemmed once
-- per key (search_key.vector), not once per service. Rows are written national
-- remote offers first, then by commune, so that rows found together share pages
-- (migration 0011); a row is hidden as a duplicate only when its link is sure
-- (duplicate_hidden, migration 0015).
CREATE OR REPLACE FUNCTION public.search_refresh_rows(ids uuid[])
 RETURNS uuid[]
 LANGUAGE plpgsql
AS $function$
DECLARE
  incomplete uuid[];
BEGIN
  WITH src AS MATERIALIZED (
    SELECT s.id, s.nom, st.nom AS structure_nom, s.description, s.modes_accueil,
           s.zone_eligibilite, s.thematiques, s.location, s.structure_id, s.code_insee, s.fresh_date,
           s.status = 'publie' AND st.status = 'publie' AS visible,
           s.duplicate_hidden AS duplicate
    FROM unnest(ids) AS i(id)
    JOIN service s ON s.id = i.id
    JOIN structure st ON st.id = s.structure_id
  ),
  keyed AS MATERIALIZED (
    SELECT n.service_id AS id,
           coalesce(array_agg(k.id ORDER BY k.id) FILTER (WHERE k.id IS NOT NULL), '{}') AS keys,
           tsvector_agg(k.vector ORDER BY k.id) FILTER (WHERE k.vector IS NOT NULL) AS labels,
           bool_or(k.id IS NULL) AS incomplete
    FROM search_named_keys(ids) n LEFT JOIN search_key k ON k.key = n.key
    GROUP BY n.service_id
  ),
  documents AS (
    INSERT INTO search_document AS d (service_id, document, visible, duplicate, remote, on_site,
                                      zone, x, y, z, structure_id, code_insee, fresh_date, keys)
    SELECT src.id,
           setweight(to_tsvector('french_unaccent', coalesce(src.nom, '') || ' ' || coalesce(src.structure_nom, '')), 'A')
        || setweight(coalesce(kk.labels, ''), 'B')
        || setweight(to_tsvector('french_unaccent', coalesce(src.description, '')), 'C'),
           src.visible, src.duplicate,
           'a-distance' = ANY (src.modes_accueil),
           src.modes_accueil = '{}' OR 'en-presentiel' = ANY (src.modes_accueil),
           ARRAY(SELECT CASE WHEN 'a-distance' = ANY (src.modes_accueil) THEN 'r:' ELSE 'p:' END || z
                 FROM unnest(CASE WHEN src.zone_eligibilite = '{}' THEN ARRAY['*']
                                  ELSE src.zone_eligibilite END) AS z)
           -- The grid cell of an on-site place (search.postgres.GRID_DEGREES).
           || CASE WHEN src.location IS NOT NULL AND NOT 'a-distance' = ANY (src.modes_accueil)
                   THEN ARRAY['g:' || floor(ST_Y(src.location::geometry) / 0.25) || ':'
                              || floor(ST_X(src.location::geometry) / 0.25)]
                   ELSE '{}' END,
           cos(radians(ST_Y(src.location::geometry))) * cos(radians(ST_X(src.location::geometry))),
           cos(radians(ST_Y(src.location::geometry))) * sin(radians(ST_X(src.location::geometry))),
           sin(radians(ST_Y(src.location::geometry))),
           src.structure_id, src.code_insee, src.fresh_date, coalesce(kk.keys, '{}')
    FROM src LEFT JOIN keyed kk ON kk.id = src.id
    -- National remote offers first, by their first thematique (so by category),
    -- then the others by commune: rows found together share pages.
    ORDER BY NOT ('a-distance' = ANY (src.modes_accueil) AND (src.zone_eligibilite = '{}' OR 'france' = ANY (src.zone_eligibilite))),
             CASE WHEN 'a-distance' = ANY (src.modes_accueil) AND (src.zone_eligibilite = '{}' OR 'france' = ANY (src.zone_eligibilite)) THEN src.thematiques[1] END,
             src.code_insee, src.id
    ON CONFLICT (service_id) DO UPDATE SET
      document = EXCLUDED.document, visible = EXCLUDED.visible, duplicate = EXCLUDED.duplicate,
      remote = EXCLUDED.remote, on_site = EXCLUDED.on_site, zone = EXCLUDED.zone,
      x = EXCLUDED.x, y = EXCLUDED.y, z = EXCLUDED.z,
      structure_id = EXCLUDED.structure_id,
      code_insee = EXCLUDED.code_insee, fresh_date = EXCLUDED.fresh_date, keys = EXCLUDED.keys
  ),
  -- Words of the names (each distinct name once) for typo correction: one string,
  -- unaccented and split once (twice as fast as a call per name).
  words AS (
    INSERT INTO search_word (word)
    SELECT DISTINCT w
    FROM regexp_split_to_table(lower(f_unaccent(
           (SELECT string_agg(n, ' ') FROM (SELECT nom FROM src UNION SELECT structure_nom FROM src) names(n))
         )), '[^a-z0-9]+') w
    WHERE length(w) >= 3
    -- One order for every transaction: two import batches written at once, adding
    -- the same new words, wait for each other but never deadlock.
    ORDER BY w
    ON CONFLICT DO NOTHING
  )
  SELECT array_agg(id) INTO incomplete FROM keyed WHERE keyed.incomplete;
  RETURN incomplete;
END $function$;
"""

# The rows written before: their cell added (in the function's order: zone codes, then the cell).
ADD_CELLS = r"""
UPDATE search_document d
SET zone = d.zone || ARRAY['g:' || floor(ST_Y(s.location::geometry) / 0.25) || ':'
                           || floor(ST_X(s.location::geometry) / 0.25)]
FROM service s
WHERE s.id = d.service_id AND d.remote AND d.on_site AND s.location IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM unnest(d.zone) z WHERE left(z, 2) = 'g:')
"""

DROP_CELLS = r"""
UPDATE search_document d
SET zone = ARRAY(SELECT z FROM unnest(d.zone) WITH ORDINALITY u(z, i) WHERE left(z, 2) <> 'g:' ORDER BY i)
WHERE d.remote AND EXISTS (SELECT 1 FROM unnest(d.zone) z WHERE left(z, 2) = 'g:')
"""


def upgrade() -> None:
    op.execute(NEW)
    op.execute(ADD_CELLS)


def downgrade() -> None:
    op.execute(PREVIOUS)
    op.execute(DROP_CELLS)
