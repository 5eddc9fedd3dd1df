"""duplicates: a link is hidden from the searches only when it is sure (duplicate_hidden)

Revision ID: 0015_imp_dups
Revises: 0014_imp_files

Until now every duplicate the importers suggested (duplicate_of_id set) was hidden
from the searches, the map and the counts, and the matcher linked different
organisations. A link is now hidden only when `duplicate_hidden` is true: set by
the importers above their high-confidence score, or by a moderator who links an
offer; below it the link is a suggestion in the moderation queue and the record
stays visible. A hidden link always has its target (check constraint).

Existing links: hidden only those a moderator confirmed (« lier »); the others,
written by the former matcher, become suggestions (visible).

search_refresh_rows is patched where it is, whatever migrations of other branches
changed in it: its definition is read from the database and only the duplicate
flag's expression is replaced (asserted to occur once).
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_imp_dups"
down_revision = "0014_imp_files"
branch_labels = None
depends_on = None

_OLD = "s.duplicate_of_id IS NOT NULL AS duplicate"
_NEW = "s.duplicate_hidden AS duplicate"


def _patch_search(before: str, after: str) -> None:
    bind = op.get_bind()
    definition = bind.execute(
        sa.text("SELECT pg_get_functiondef('search_refresh_rows(uuid[])'::regprocedure)")
    ).scalar_one()
    assert definition.count(before) == 1, "search_refresh_rows: duplicate expression not found once"
    op.execute(definition.replace(before, after))


def upgrade() -> None:
    for table in ("structure", "service"):
        op.add_column(table, sa.Column("duplicate_hidden", sa.Boolean(), server_default=sa.false(), nullable=False))
        op.create_check_constraint(op.f(f"ck_{table}_duplicate_hidden_link"), table,
                                   "NOT duplicate_hidden OR duplicate_of_id IS NOT NULL")
    op.execute(
        "UPDATE service s SET duplicate_hidden = true WHERE s.duplicate_of_id IS NOT NULL AND EXISTS ("
        " SELECT 1 FROM moderation_item m JOIN moderation_decision d ON d.item_id = m.id"
        " WHERE m.service_id = s.id AND m.kind = 'doublon' AND d.decision = 'lier')"
    )
    _patch_search(_OLD, _NEW)
    op.execute("SELECT search_refresh(ARRAY(SELECT id FROM service WHERE duplicate_of_id IS NOT NULL))")


def downgrade() -> None:
    _patch_search(_NEW, _OLD)
    for table in ("service", "structure"):
        op.drop_constraint(op.f(f"ck_{table}_duplicate_hidden_link"), table, type_="check")
        op.drop_column(table, "duplicate_hidden")
    op.execute("SELECT search_refresh(ARRAY(SELECT id FROM service WHERE duplicate_of_id IS NOT NULL))")
