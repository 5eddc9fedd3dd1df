"""freshness reminders sent (one per service and stale period)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "freshness_reminder",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("service_id", sa.UUID(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("recipients", sa.ARRAY(sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], name=op.f("fk_freshness_reminder_service_id_service")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_freshness_reminder")),
        sa.UniqueConstraint("service_id", "due_on", name="uq_freshness_reminder_service_due"),
    )
    op.create_index(op.f("ix_freshness_reminder_service_id"), "freshness_reminder", ["service_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_freshness_reminder_service_id"), table_name="freshness_reminder")
    op.drop_table("freshness_reminder")
