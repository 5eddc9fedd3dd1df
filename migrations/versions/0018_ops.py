"""ops: the search outbox written only for an external engine, one row per service;
the last runs of the scheduled jobs

Revision ID: 0018_ops
Revises: 0017_sec_input

With the PostgreSQL engine the triggers keep the search rows current themselves and
nothing read search_outbox: it grew with every write (102,486 rows after importing
100,000 services). Now:
- search_engine_state (one row) says which engine the database feeds; the outbox
  triggers write only while `outbox_enabled` (an external engine, turned on by a
  full rebuild of its index);
- search_outbox holds one row per service at most (unique service_id): a later
  change of a queued service moves its row to a new id (ON CONFLICT DO UPDATE, which
  also waits for an indexing pass holding that row, so no change is lost);
- scheduled_job_run: the last run of each job of `offre schedule`.
The outbox's rows are dropped: the PostgreSQL engine never needed them, and an
external engine starts again with a full rebuild (its worker sees
outbox_enabled = false and rebuilds before syncing).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_ops"
down_revision = "0017_sec_input"
branch_labels = None
depends_on = None

_FUNCTIONS = """
CREATE OR REPLACE FUNCTION offre_outbox_service() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce((SELECT outbox_enabled FROM search_engine_state WHERE id = 1), false) THEN
    INSERT INTO search_outbox (service_id) SELECT DISTINCT id FROM new_rows
    ON CONFLICT (service_id) DO UPDATE
      SET id = nextval(pg_get_serial_sequence('search_outbox', 'id')), at = now();
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION offre_outbox_structure() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce((SELECT outbox_enabled FROM search_engine_state WHERE id = 1), false) THEN
    INSERT INTO search_outbox (service_id)
    SELECT DISTINCT s.id FROM service s JOIN new_rows n ON s.structure_id = n.id
    ON CONFLICT (service_id) DO UPDATE
      SET id = nextval(pg_get_serial_sequence('search_outbox', 'id')), at = now();
  END IF;
  RETURN NULL;
END $$;
"""

_OLD_FUNCTIONS = """
CREATE OR REPLACE FUNCTION offre_outbox_service() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_outbox (service_id) SELECT id FROM new_rows;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION offre_outbox_structure() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_outbox (service_id)
  SELECT s.id FROM service s JOIN new_rows n ON s.structure_id = n.id;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "search_engine_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=20), server_default="postgres", nullable=False),
        sa.Column("outbox_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_search_engine_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_engine_state")),
    )
    op.execute("INSERT INTO search_engine_state (id) VALUES (1)")
    op.create_table(
        "scheduled_job_run",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("period", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="jamais", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("runs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_job_run")),
    )
    op.execute("TRUNCATE search_outbox")
    op.drop_index("ix_search_outbox_service_id", table_name="search_outbox")
    op.create_index("ix_search_outbox_service_id", "search_outbox", ["service_id"], unique=True)
    op.execute(_FUNCTIONS)


def downgrade() -> None:
    op.execute(_OLD_FUNCTIONS)
    op.drop_index("ix_search_outbox_service_id", table_name="search_outbox")
    op.create_index("ix_search_outbox_service_id", "search_outbox", ["service_id"], unique=False)
    op.drop_table("scheduled_job_run")
    op.drop_table("search_engine_state")
