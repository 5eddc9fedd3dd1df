"""levers, committees, anonymous search log (CTO and steering)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("thematiques", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("code_commune", sa.String(length=5), nullable=True),
        sa.Column("filters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("result_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_log")),
    )
    op.create_index("ix_search_log_week", "search_log", ["week"], unique=False)
    op.create_table(
        "cto_committee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("territory_slug", sa.String(length=100), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("agenda_deadline", sa.Date(), nullable=False),
        sa.Column("sending_date", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_cto_committee_created_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cto_committee")),
    )
    op.create_table(
        "cto_shortlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("code_commune", sa.String(length=5), nullable=False),
        sa.Column("territory_slug", sa.String(length=100), nullable=True),
        sa.Column("publics", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("barriers", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("constraints", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("results", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("annotations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_cto_shortlist_created_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cto_shortlist")),
        sa.UniqueConstraint("token", name=op.f("uq_cto_shortlist_token")),
    )
    op.create_index(
        op.f("ix_cto_shortlist_expires_at"), "cto_shortlist", ["expires_at"], unique=False
    )
    op.create_table(
        "cto_situation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("committee_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("shortlist_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["committee_id"],
            ["cto_committee.id"],
            name=op.f("fk_cto_situation_committee_id_cto_committee"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_cto_situation_created_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shortlist_id"],
            ["cto_shortlist.id"],
            name=op.f("fk_cto_situation_shortlist_id_cto_shortlist"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cto_situation")),
        sa.UniqueConstraint("committee_id", "reference", name="uq_cto_situation_reference"),
    )
    op.create_index(
        op.f("ix_cto_situation_committee_id"), "cto_situation", ["committee_id"], unique=False
    )
    op.create_index(
        op.f("ix_cto_situation_shortlist_id"), "cto_situation", ["shortlist_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_cto_situation_shortlist_id"), table_name="cto_situation")
    op.drop_index(op.f("ix_cto_situation_committee_id"), table_name="cto_situation")
    op.drop_table("cto_situation")
    op.drop_index(op.f("ix_cto_shortlist_expires_at"), table_name="cto_shortlist")
    op.drop_table("cto_shortlist")
    op.drop_table("cto_committee")
    op.drop_index("ix_search_log_week", table_name="search_log")
    op.drop_table("search_log")
