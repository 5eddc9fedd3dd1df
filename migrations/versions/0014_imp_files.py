"""imports: the process of a run (to mark interrupted runs), the sources that are ours

Revision ID: 0014_imp_files
Revises: 0013_imp_places

`import_run.pid` and `import_run.host` name the process running an import: a run
still « en-cours » whose process no longer exists was interrupted (killed, host
restarted); the next import marks it « interrompu ». `own_source` lists the record
sources written by imports that are nevertheless this service's own (a partner's
own file): the data·inclusion export publishes them under the département's name.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_imp_files"
down_revision = "0013_imp_places"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("import_run", sa.Column("pid", sa.Integer(), nullable=True))
    op.add_column("import_run", sa.Column("host", sa.Text(), nullable=True))
    op.create_table(
        "own_source",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("via", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_own_source")),
    )
    # Sources of the partners' files imported so far (their run kept the mapping).
    op.execute(
        "INSERT INTO own_source (name, via) SELECT DISTINCT options->'mapping'->>'source', 'partenaire' "
        "FROM import_run WHERE source = 'partenaire' AND options->'mapping'->>'source' IS NOT NULL "
        "ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.drop_table("own_source")
    op.drop_column("import_run", "host")
    op.drop_column("import_run", "pid")
