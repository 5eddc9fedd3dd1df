"""srch_keysets: the keys of each search row also as three key sets, ids of
search_keyset, so that facets are counted per set on integers (issue #22)

Revision ID: 0028_srch_keysets
Revises: 0027_imp_import_speed

The facets of a search counted its rows per distinct array of keys (a GROUP BY of
integer arrays, 60 to 90 ms for a typo search of 68,000 rows at 1,000,000 services),
then unnested the distinct arrays; but a catalogue's whole arrays are nearly one per
row (95,800 of the bench's 100,000 services). Split into three families, the
thematiques (with their categories and SPIE groups), the publics and the other keys,
they are a few thousand (3,300, 380 and 4,500 there). Each family's array is an id
of search_keyset (a set is written once, never changed); search_document holds the
three ids (thematique_keyset, public_keyset, other_keyset) beside its keys, which
stay (the filters' GIN index, search/tallies.py): the facets group the rows by the
ids and unnest only the sets found (search/postgres.py).

search_refresh_rows (search/sql/search_refresh_rows.sql) adds the sets it has not
seen and writes their ids. Frozen text of the file at this revision, and the
previous one (0019) for the downgrade. The upgrade writes the ids of every row.
"""

from alembic import op

revision = "0028_srch_keysets"
down_revision = "0027_imp_import_speed"
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
-- The keys are also written as three key sets, ids of search_keyset (created here
-- when new): the thematique family (thematiques, their categories and SPIE groups),
-- the publics, and the other keys; a search counts its facets per key set, on
-- integers, of which a catalogue has a few thousand (migration 0028). A set that
-- another transaction adds at the same time may be invisible to this statement:
-- those rows are returned too, and written again.
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
           bool_or(k.id IS NULL) AS incomplete,
           array_agg(k.id ORDER BY k.id) FILTER (WHERE k.id IS NOT NULL AND n.family = 't') AS t,
           array_agg(k.id ORDER BY k.id) FILTER (WHERE k.id IS NOT NULL AND n.family = 'p') AS p,
           array_agg(k.id ORDER BY k.id) FILTER (WHERE k.id IS NOT NULL AND n.family = 'o') AS o
    FROM (SELECT n.service_id, n.key,
                 CASE WHEN n.key LIKE 'thematiques%' OR n.key LIKE 'categories:%' THEN 't'
                      WHEN n.key LIKE 'publics:%' THEN 'p' ELSE 'o' END AS family
          FROM search_named_keys(ids) n) n
    LEFT JOIN search_key k ON k.key = n.key
    GROUP BY n.service_id
  ),
  rowsets AS MATERIALIZED (
    SELECT src.id, coalesce(kk.t, '{}') AS t, coalesce(kk.p, '{}') AS p, coalesce(kk.o, '{}') AS o
    FROM src LEFT JOIN keyed kk ON kk.id = src.id
  ),
  wanted AS MATERIALIZED (SELECT t AS keys FROM rowsets UNION SELECT p FROM rowsets UNION SELECT o FROM rowsets),
  -- In one order for every transaction: two batches adding the same sets wait for
  -- each other but never deadlock.
  new_sets AS (
    INSERT INTO search_keyset (keys) SELECT keys FROM wanted ORDER BY keys
    ON CONFLICT (keys) DO NOTHING
    RETURNING id, keys
  ),
  sets AS MATERIALIZED (
    SELECT id, keys FROM new_sets
    UNION ALL
    SELECT s.id, s.keys FROM search_keyset s JOIN wanted w ON w.keys = s.keys
  ),
  documents AS (
    INSERT INTO search_document AS d (service_id, document, visible, duplicate, remote, on_site,
                                      zone, x, y, z, structure_id, code_insee, fresh_date, keys,
                                      thematique_keyset, public_keyset, other_keyset)
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
           src.structure_id, src.code_insee, src.fresh_date, coalesce(kk.keys, '{}'), st.id, sp.id, so.id
    FROM src LEFT JOIN keyed kk ON kk.id = src.id JOIN rowsets rs ON rs.id = src.id
    LEFT JOIN sets st ON st.keys = rs.t LEFT JOIN sets sp ON sp.keys = rs.p LEFT JOIN sets so ON so.keys = rs.o
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
      code_insee = EXCLUDED.code_insee, fresh_date = EXCLUDED.fresh_date, keys = EXCLUDED.keys,
      thematique_keyset = EXCLUDED.thematique_keyset, public_keyset = EXCLUDED.public_keyset,
      other_keyset = EXCLUDED.other_keyset
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
  SELECT array_agg(id) INTO incomplete FROM (
    SELECT id FROM keyed WHERE keyed.incomplete
    UNION
    SELECT rs.id FROM rowsets rs
    WHERE NOT (rs.t IN (SELECT keys FROM sets) AND rs.p IN (SELECT keys FROM sets) AND rs.o IN (SELECT keys FROM sets))
  ) missing;
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

KEYSET_TABLE = """
CREATE TABLE search_keyset (
  id integer GENERATED BY DEFAULT AS IDENTITY NOT NULL,
  keys integer[] NOT NULL,
  CONSTRAINT pk_search_keyset PRIMARY KEY (id),
  CONSTRAINT uq_search_keyset_keys UNIQUE (keys)
)
"""

# The families of the keys, as search_refresh_rows splits them.
FAMILY = """CASE WHEN k.key LIKE 'thematiques%' OR k.key LIKE 'categories:%' THEN 't'
                 WHEN k.key LIKE 'publics:%' THEN 'p' ELSE 'o' END"""

BACKFILL = f"""
CREATE TEMP TABLE keyset_backfill ON COMMIT DROP AS
SELECT d.service_id,
       ARRAY(SELECT k.id FROM unnest(d.keys) i JOIN search_key k ON k.id = i WHERE {FAMILY} = 't' ORDER BY k.id) AS t,
       ARRAY(SELECT k.id FROM unnest(d.keys) i JOIN search_key k ON k.id = i WHERE {FAMILY} = 'p' ORDER BY k.id) AS p,
       ARRAY(SELECT k.id FROM unnest(d.keys) i JOIN search_key k ON k.id = i WHERE {FAMILY} = 'o' ORDER BY k.id) AS o
FROM search_document d;
INSERT INTO search_keyset (keys)
SELECT t FROM keyset_backfill UNION SELECT p FROM keyset_backfill UNION SELECT o FROM keyset_backfill ORDER BY 1;
UPDATE search_document d SET thematique_keyset = st.id, public_keyset = sp.id, other_keyset = so.id
FROM keyset_backfill b, search_keyset st, search_keyset sp, search_keyset so
WHERE b.service_id = d.service_id AND st.keys = b.t AND sp.keys = b.p AND so.keys = b.o;
"""


def upgrade() -> None:
    op.execute(KEYSET_TABLE)
    op.execute("ALTER TABLE search_document ADD COLUMN thematique_keyset integer, "
               "ADD COLUMN public_keyset integer, ADD COLUMN other_keyset integer")
    op.execute(BACKFILL)
    op.execute(NEW)


def downgrade() -> None:
    op.execute(PREVIOUS)
    op.execute("ALTER TABLE search_document DROP COLUMN thematique_keyset, "
               "DROP COLUMN public_keyset, DROP COLUMN other_keyset")
    op.execute("DROP TABLE search_keyset")
