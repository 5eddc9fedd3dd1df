"""account e-mails asked for (registration, verification, password reset), for rate limiting

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_mail_request",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_mail_request")),
    )
    op.create_index("ix_account_mail_request_email_at", "account_mail_request", ["email", "at"], unique=False)
    op.create_index("ix_account_mail_request_ip_at", "account_mail_request", ["ip", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_account_mail_request_ip_at", table_name="account_mail_request")
    op.drop_index("ix_account_mail_request_email_at", table_name="account_mail_request")
    op.drop_table("account_mail_request")
