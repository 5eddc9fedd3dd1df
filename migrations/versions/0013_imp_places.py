"""imports: the status a source gave a record, and a service's dated message

Revision ID: 0013_imp_places
Revises: 0012_sec_cto

`source_status` (structures and services) holds the status the source itself gave
the record at the last import (Soliguide: « ONLINE/ALL », « DRAFT/ALL »…): a
re-import applies the source's status only when it changed there, so that a
moderator's own decision on an unchanged record stands. `message_temporaire`,
`message_debut`, `message_fin` (services): a temporary message with its dates
(Soliguide's tempInfos.message), shown on the offer's page until its end.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_imp_places"
down_revision = "0012_sec_cto"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("structure", "service"):
        op.add_column(table, sa.Column("source_status", sa.String(length=50), nullable=True))
    op.add_column("service", sa.Column("message_temporaire", sa.Text(), nullable=True))
    op.add_column("service", sa.Column("message_debut", sa.Date(), nullable=True))
    op.add_column("service", sa.Column("message_fin", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("service", "message_fin")
    op.drop_column("service", "message_debut")
    op.drop_column("service", "message_temporaire")
    for table in ("service", "structure"):
        op.drop_column(table, "source_status")
