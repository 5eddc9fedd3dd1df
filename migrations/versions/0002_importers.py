"""import runs, quarantine

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_run",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_run")),
    )
    op.create_table(
        "import_quarantine",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("record_source", sa.String(length=100), nullable=True),
        sa.Column("record_id", sa.String(length=300), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_run_id", sa.BigInteger(), nullable=True),
        sa.Column("record_uuid", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(["resolved_run_id"], ["import_run.id"], name=op.f("fk_import_quarantine_resolved_run_id_import_run")),
        sa.ForeignKeyConstraint(["run_id"], ["import_run.id"], name=op.f("fk_import_quarantine_run_id_import_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_quarantine")),
    )
    op.create_index(op.f("ix_import_quarantine_run_id"), "import_quarantine", ["run_id"], unique=False)
    op.create_index("ix_import_quarantine_record", "import_quarantine", ["kind", "record_source", "record_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_import_quarantine_record", table_name="import_quarantine")
    op.drop_index(op.f("ix_import_quarantine_run_id"), table_name="import_quarantine")
    op.drop_table("import_quarantine")
    op.drop_table("import_run")
