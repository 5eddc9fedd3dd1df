"""map: indexes of the public map (issue 22, point 5)

Revision ID: 0026_map_index
Revises: 0025_srch_generation

The map's clusters and its list by commune read the published, located offers
that are not hidden as duplicates, by commune code (a département is a range of
codes): a partial index on service(code_insee) that also holds what they read
(id, structure, place, thematiques), so that they are index-only scans of a few MB
instead of scans of the whole table. And the few structures that are not
published, so that « its structure is published » is one small hashed set.
"""

from alembic import op

revision = "0026_map_index"
down_revision = "0025_srch_generation"
branch_labels = None
depends_on = None

_UP = """
CREATE INDEX ix_service_map_commune ON service (code_insee) INCLUDE (id, structure_id, location, thematiques)
    WHERE status = 'publie' AND location IS NOT NULL AND NOT duplicate_hidden;
CREATE INDEX ix_structure_hidden ON structure (id) WHERE status <> 'publie';
"""

_DOWN = """
DROP INDEX ix_structure_hidden;
DROP INDEX ix_service_map_commune;
"""


def upgrade() -> None:
    op.execute(_UP)


def downgrade() -> None:
    op.execute(_DOWN)
