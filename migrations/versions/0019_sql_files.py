"""sql_files: the SQL functions and triggers as their .sql files hold them

Revision ID: 0019_sql_files
Revises: 0018_ops

Until now the functions the database runs existed only as the sum of the migrations
(0011 rewrote search_refresh_rows with str.replace, 0015 patched the definition it
read from the database). They now live in .sql files beside the code that owns them
(search/sql/, catalogue/sql/), and tests/migrations/test_live_functions.py compares
a database migrated to head with those files.

This migration applies a frozen copy of the files as they were at this revision:
the same definitions as 0018 left (nothing changes in what the database does), now
written as the files write them. A migration never reads the live files: when a
.sql file changes, a new migration embeds its new text (and the previous one for
its downgrade), as this one does. See docs/architecture.md, « Le schéma ».
"""

from alembic import op

revision = "0019_sql_files"
down_revision = "0018_ops"
branch_labels = None
depends_on = None

# Each file's text at this revision, in the order applied (the functions before the
# triggers that call them).
FILES = {
    "search/sql/tsvector_agg.sql": r"""
-- Concatenation of tsvectors (the label vectors of a service's keys).
CREATE OR REPLACE AGGREGATE public.tsvector_agg(tsvector) (SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '');
""",
    "search/sql/f_unaccent.sql": r"""
-- unaccent() is only STABLE (its dictionary could change); this wrapper names the
-- dictionary so that it may be used in indexes.
CREATE OR REPLACE FUNCTION public.f_unaccent(text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE STRICT
AS $function$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $function$;
""",
    "search/sql/search_add_words.sql": r"""
-- Words (3 letters or more, unaccented, lower case) for typo correction
-- (search.labels.refresh_labels adds those of the vocabulary's labels).
CREATE OR REPLACE FUNCTION public.search_add_words(t text)
 RETURNS void
 LANGUAGE sql
AS $function$
  INSERT INTO search_word (word)
  SELECT DISTINCT w FROM regexp_split_to_table(lower(f_unaccent(coalesce(t, ''))), '[^a-z0-9]+') w
  WHERE length(w) >= 3
  ON CONFLICT DO NOTHING
$function$;
""",
    "search/sql/search_named_keys.sql": r"""
-- The keys of these services, as text (`<facet>:<value>`, see
-- catalogue/facet_keys.py): set-based, one hash join with the vocabulary's
-- thematique -> category / SPIE group table for the whole batch (a function called
-- for each row cost 80 µs per service).
CREATE OR REPLACE FUNCTION public.search_named_keys(ids uuid[])
 RETURNS TABLE(service_id uuid, key text)
 LANGUAGE sql
 STABLE
AS $function$
  WITH s AS MATERIALIZED (
    SELECT s.id, s.thematiques, s.publics, s.mobilisable_par, s.frais, s.type, s.source, s.modes_accueil
    FROM unnest(ids) AS i(id) JOIN service s ON s.id = i.id
  )
  SELECT DISTINCT id, k FROM (
    SELECT s.id, 'thematiques:' || t FROM s, unnest(s.thematiques) t
    UNION ALL SELECT s.id, g.key FROM s, unnest(s.thematiques) t JOIN search_thematique_key g ON g.thematique = t
    UNION ALL SELECT s.id, 'publics:' || p FROM s, unnest(s.publics) p
    UNION ALL SELECT s.id, 'mobilisable_par:' || m FROM s, unnest(s.mobilisable_par) m
    UNION ALL SELECT s.id, 'frais:' || s.frais FROM s
    UNION ALL SELECT s.id, 'types:' || s.type FROM s
    UNION ALL SELECT s.id, 'sources:' || s.source FROM s
    UNION ALL SELECT s.id, 'modes_accueil:a-distance' FROM s WHERE 'a-distance' = ANY (s.modes_accueil)
    UNION ALL SELECT s.id, 'modes_accueil:en-presentiel' FROM s
              WHERE s.modes_accueil = '{}' OR 'en-presentiel' = ANY (s.modes_accueil)
  ) named(id, k)
  WHERE k IS NOT NULL
$function$;
""",
    "search/sql/search_refresh_rows.sql": r"""
-- Write the search rows of these services; returns the ids of those that have a
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
""",
    "search/sql/search_refresh.sql": r"""
-- (Re)compute the search rows of the given services. Keys seen for the first time
-- (a new source, a code outside the vocabulary) get their id, then those rows are
-- written again.
CREATE OR REPLACE FUNCTION public.search_refresh(ids uuid[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
  incomplete uuid[];
BEGIN
  incomplete := search_refresh_rows(ids);
  IF incomplete IS NOT NULL THEN
    INSERT INTO search_key (key) SELECT DISTINCT key FROM search_named_keys(incomplete)
    ON CONFLICT (key) DO NOTHING;
    PERFORM search_refresh_rows(incomplete);
  END IF;
END $function$;
""",
    "search/sql/search_service_changed.sql": r"""
-- Statement-level trigger on service: one refresh per statement (bulk imports stay
-- fast).
CREATE OR REPLACE FUNCTION public.search_service_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  PERFORM search_refresh(ARRAY(SELECT id FROM changed));
  RETURN NULL;
END $function$;
""",
    "search/sql/search_structure_changed.sql": r"""
-- Statement-level trigger on structure: a structure's name is in its services'
-- documents, its status in their visibility.
CREATE OR REPLACE FUNCTION public.search_structure_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  PERFORM search_refresh(ARRAY(
    SELECT s.id FROM service s
    JOIN changed c ON c.id = s.structure_id
    JOIN before b ON b.id = c.id
    WHERE c.nom IS DISTINCT FROM b.nom OR c.status IS DISTINCT FROM b.status));
  RETURN NULL;
END $function$;
""",
    "search/sql/offre_outbox_service.sql": r"""
-- Search outbox (for an external engine only: search_engine_state.outbox_enabled):
-- one row per changed service, moved to a new id when it is queued again.
CREATE OR REPLACE FUNCTION public.offre_outbox_service()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF coalesce((SELECT outbox_enabled FROM search_engine_state WHERE id = 1), false) THEN
    INSERT INTO search_outbox (service_id) SELECT DISTINCT id FROM new_rows
    ON CONFLICT (service_id) DO UPDATE
      SET id = nextval(pg_get_serial_sequence('search_outbox', 'id')), at = now();
  END IF;
  RETURN NULL;
END $function$;
""",
    "search/sql/offre_outbox_structure.sql": r"""
-- Search outbox: the services of the changed structures (see offre_outbox_service).
CREATE OR REPLACE FUNCTION public.offre_outbox_structure()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF coalesce((SELECT outbox_enabled FROM search_engine_state WHERE id = 1), false) THEN
    INSERT INTO search_outbox (service_id)
    SELECT DISTINCT s.id FROM service s JOIN new_rows n ON s.structure_id = n.id
    ON CONFLICT (service_id) DO UPDATE
      SET id = nextval(pg_get_serial_sequence('search_outbox', 'id')), at = now();
  END IF;
  RETURN NULL;
END $function$;
""",
    "catalogue/sql/offre_audit_insert.sql": r"""
-- Audit: every insert of a structure or a service, whoever makes it. A
-- statement-level trigger over a transition table: one set-based insert per
-- statement, so bulk imports stay fast. The raw payload, the timestamps and the
-- generated columns are left out.
CREATE OR REPLACE FUNCTION public.offre_audit_insert()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO audit_log (actor, table_name, record_id, action, before, after)
  SELECT NULLIF(current_setting('offre.actor', true), ''), TG_TABLE_NAME, n.id, 'insert', NULL,
         to_jsonb(n) - '{raw,updated_at,created_at,facet_keys,fresh_date}'::text[]
  FROM new_rows n;
  RETURN NULL;
END $function$;
""",
    "catalogue/sql/offre_audit_update.sql": r"""
-- Audit: every update of a structure or a service, whoever makes it; only the
-- changed columns are kept (before/after). The raw payload, the timestamps and the
-- generated columns are left out.
CREATE OR REPLACE FUNCTION public.offre_audit_update()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO audit_log (actor, table_name, record_id, action, before, after)
  SELECT NULLIF(current_setting('offre.actor', true), ''), TG_TABLE_NAME, d.id, 'update', d.b, d.a
  FROM (
    SELECT j.id,
           (SELECT jsonb_object_agg(k, j.oj -> k) FROM jsonb_object_keys(j.nj) k
             WHERE (j.oj -> k) IS DISTINCT FROM (j.nj -> k)) AS b,
           (SELECT jsonb_object_agg(k, j.nj -> k) FROM jsonb_object_keys(j.nj) k
             WHERE (j.oj -> k) IS DISTINCT FROM (j.nj -> k)) AS a
    FROM (
      SELECT n.id, to_jsonb(o) - '{raw,updated_at,facet_keys,fresh_date}'::text[] AS oj, to_jsonb(n) - '{raw,updated_at,facet_keys,fresh_date}'::text[] AS nj
      FROM new_rows n JOIN old_rows o ON o.id = n.id
    ) j
  ) d
  WHERE d.a IS NOT NULL;
  RETURN NULL;
END $function$;
""",
    "catalogue/sql/offre_archive_instead_of_delete.sql": r"""
-- Nothing is hard-deleted: a DELETE archives the row instead.
CREATE OR REPLACE FUNCTION public.offre_archive_instead_of_delete()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  EXECUTE format('UPDATE %I SET status = ''archive'', updated_at = now() WHERE id = $1',
                 TG_TABLE_NAME) USING OLD.id;
  RETURN NULL;
END $function$;
""",
    "search/sql/triggers.sql": r"""
-- The triggers that keep the search rows current (search_service_changed,
-- search_structure_changed) and feed the outbox of an external engine.
CREATE OR REPLACE TRIGGER service_search_insert AFTER INSERT ON public.service
  REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION search_service_changed();
CREATE OR REPLACE TRIGGER service_search_update AFTER UPDATE ON public.service
  REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION search_service_changed();
CREATE OR REPLACE TRIGGER structure_search_update AFTER UPDATE ON public.structure
  REFERENCING OLD TABLE AS before NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION search_structure_changed();
CREATE OR REPLACE TRIGGER service_outbox_insert AFTER INSERT ON public.service
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_outbox_service();
CREATE OR REPLACE TRIGGER service_outbox_update AFTER UPDATE ON public.service
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_outbox_service();
CREATE OR REPLACE TRIGGER structure_outbox AFTER UPDATE ON public.structure
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_outbox_structure();
""",
    "catalogue/sql/triggers.sql": r"""
-- The catalogue's own triggers: the audit log and archiving instead of deleting.
CREATE OR REPLACE TRIGGER structure_audit_insert AFTER INSERT ON public.structure
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_insert();
CREATE OR REPLACE TRIGGER structure_audit_update AFTER UPDATE ON public.structure
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_update();
CREATE OR REPLACE TRIGGER service_audit_insert AFTER INSERT ON public.service
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_insert();
CREATE OR REPLACE TRIGGER service_audit_update AFTER UPDATE ON public.service
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_update();
CREATE OR REPLACE TRIGGER structure_no_delete BEFORE DELETE ON public.structure
  FOR EACH ROW EXECUTE FUNCTION offre_archive_instead_of_delete();
CREATE OR REPLACE TRIGGER service_no_delete BEFORE DELETE ON public.service
  FOR EACH ROW EXECUTE FUNCTION offre_archive_instead_of_delete();
""",
}


def upgrade() -> None:
    for sql in FILES.values():
        op.execute(sql)


def downgrade() -> None:
    # 0018 had the same definitions: nothing to undo.
    pass
