"""imp_import_speed: the audit of updates builds each row's JSON once; the digests
of the records an import wrote (issue #22)

Revision ID: 0027_imp_import_speed
Revises: 0026_map_index

import_digest: for each (kind, source, source_id) written by an import, the digest
of the record as read (and of what its row depends on) and the version (xmin) of the
row it produced. The next import counts a record with the same digest, whose row
has not changed since, « inchangé » without preparing it (importers/digests.py).
No trigger, no audit: it is the import's memory, not the catalogue's.

offre_audit_update (catalogue/sql/offre_audit_update.sql) wrote the same audit rows
at 10 ms a service updated: PostgreSQL inlined the subquery that turns the old and
new rows into JSON, so it built both again for each of their keys, three times. The
subquery is now kept as it is (OFFSET 0) and the keys compared in one pass: the
same rows written (issue #22: the duplicates step of an import spent nine tenths of
its time there). Frozen text of the file at this revision, and the previous one
(0019) for the downgrade.
"""

from alembic import op

revision = "0027_imp_import_speed"
down_revision = "0026_map_index"
branch_labels = None
depends_on = None

NEW = r"""-- Audit: every update of a structure or a service, whoever makes it; only the
-- changed columns are kept (before/after). The raw payload, the timestamps and the
-- generated columns are left out. Each row is turned into JSON once (OFFSET 0 keeps
-- the subquery from being inlined, which made PostgreSQL build both rows' JSON again
-- for each of their keys: 10 ms a service) and its keys compared in one pass.
CREATE OR REPLACE FUNCTION public.offre_audit_update()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO audit_log (actor, table_name, record_id, action, before, after)
  SELECT NULLIF(current_setting('offre.actor', true), ''), TG_TABLE_NAME, j.id, 'update', d.b, d.a
  FROM (
    SELECT n.id, to_jsonb(o) - '{raw,updated_at,facet_keys,fresh_date}'::text[] AS oj, to_jsonb(n) - '{raw,updated_at,facet_keys,fresh_date}'::text[] AS nj
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    OFFSET 0
  ) j
  CROSS JOIN LATERAL (
    SELECT jsonb_object_agg(k, j.oj -> k) AS b, jsonb_object_agg(k, j.nj -> k) AS a
    FROM jsonb_object_keys(j.nj) k
    WHERE (j.oj -> k) IS DISTINCT FROM (j.nj -> k)
  ) d
  WHERE d.a IS NOT NULL;
  RETURN NULL;
END $function$;
"""

PREVIOUS = r"""-- Audit: every update of a structure or a service, whoever makes it; only the
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
"""


DIGEST_TABLE = """
CREATE TABLE import_digest (
  kind varchar(20) NOT NULL,
  source varchar(100) NOT NULL,
  source_id varchar(300) NOT NULL,
  digest bytea NOT NULL,
  row_version bigint NOT NULL,
  CONSTRAINT pk_import_digest PRIMARY KEY (kind, source, source_id)
)
"""


def upgrade() -> None:
    op.execute(NEW)
    op.execute(DIGEST_TABLE)


def downgrade() -> None:
    op.execute("DROP TABLE import_digest")
    op.execute(PREVIOUS)
