"""CTO memberships; committees and situations reached by a random public id;
shortlists shared by a token of their own, only when their owner chooses to

Revision ID: 0012_sec_cto
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_sec_cto"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("cto_committee", "cto_situation"):
        op.add_column(
            table,
            sa.Column("public_id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"),
                      nullable=False),
        )
        op.create_unique_constraint(f"uq_{table}_public_id", table, ["public_id"])
    # Lists were shared by their owner's link until now: none is shared any more
    # until its owner chooses to.
    op.add_column("cto_shortlist", sa.Column("share_token", sa.String(length=64), nullable=True))
    op.create_unique_constraint("uq_cto_shortlist_share_token", "cto_shortlist", ["share_token"])
    op.create_table(
        "cto_membership",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("territory_slug", sa.String(length=100), nullable=True),
        sa.Column("committee_id", sa.Integer(), nullable=True),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("(territory_slug IS NULL) <> (committee_id IS NULL)", name="ck_cto_membership_one_scope"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name="fk_cto_membership_user_id_app_user",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["committee_id"], ["cto_committee.id"],
                                name="fk_cto_membership_committee_id_cto_committee", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["granted_by_id"], ["app_user.id"], name="fk_cto_membership_granted_by_id_app_user",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_cto_membership"),
        sa.UniqueConstraint("user_id", "territory_slug", name="uq_cto_membership_user_territory"),
        sa.UniqueConstraint("user_id", "committee_id", name="uq_cto_membership_user_committee"),
    )
    op.create_index("ix_cto_membership_user_id", "cto_membership", ["user_id"])
    op.create_index("ix_cto_membership_committee_id", "cto_membership", ["committee_id"])


def downgrade() -> None:
    op.drop_index("ix_cto_membership_committee_id", table_name="cto_membership")
    op.drop_index("ix_cto_membership_user_id", table_name="cto_membership")
    op.drop_table("cto_membership")
    op.drop_constraint("uq_cto_shortlist_share_token", "cto_shortlist", type_="unique")
    op.drop_column("cto_shortlist", "share_token")
    for table in ("cto_situation", "cto_committee"):
        op.drop_constraint(f"uq_{table}_public_id", table, type_="unique")
        op.drop_column(table, "public_id")
