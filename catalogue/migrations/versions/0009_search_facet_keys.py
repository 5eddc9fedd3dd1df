"""search: facet keys and freshness date precomputed per service (generated columns)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from catalogue import facet_keys

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The audit log keeps what people and imports wrote: the generated columns are left out.
AUDIT = r"""
CREATE OR REPLACE FUNCTION offre_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (actor, table_name, record_id, action, before, after)
  SELECT NULLIF(current_setting('offre.actor', true), ''), TG_TABLE_NAME, n.id, 'insert', NULL,
         to_jsonb(n) - 'raw' - 'updated_at' - 'created_at'{extra}
  FROM new_rows n;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION offre_audit_update() RETURNS trigger LANGUAGE plpgsql AS $$
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
      SELECT n.id, to_jsonb(o) - 'raw' - 'updated_at'{extra} AS oj,
             to_jsonb(n) - 'raw' - 'updated_at'{extra} AS nj
      FROM new_rows n JOIN old_rows o ON o.id = n.id
    ) j
  ) d
  WHERE d.a IS NOT NULL;
  RETURN NULL;
END $$;
"""
GENERATED = " - 'facet_keys' - 'fresh_date'"


def upgrade() -> None:
    op.execute(AUDIT.format(extra=GENERATED))
    op.execute(facet_keys.function_sql())
    op.add_column(
        "service",
        sa.Column(
            "facet_keys",
            postgresql.ARRAY(sa.Text()),
            sa.Computed(f"search_facet_keys({facet_keys.ARGUMENTS})", persisted=True),
            nullable=True,
        ),
    )
    op.add_column(
        "service",
        sa.Column("fresh_date", sa.Date(), sa.Computed(facet_keys.FRESH_DATE, persisted=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("service", "fresh_date")
    op.drop_column("service", "facet_keys")
    op.execute(f"DROP FUNCTION IF EXISTS {facet_keys.SIGNATURE}")
    op.execute(AUDIT.format(extra=""))
