"""srch_shared_cache: the search cache shared by the processes (issue #22)

Revision ID: 0029_srch_shared_cache
Revises: 0027_imp_import_speed

search_cache_entry: what a search gives whoever asks (a page, an API answer, filter
tallies: search/cache.py), computed once for all the gunicorn workers, under the
catalogue's search generation (migration 0025) and the day it was computed for. A
row is only served under the generation read just before: a committed change of the
catalogue makes every row stale at once (they are deleted as new ones come). UNLOGGED:
nothing in it is needed after a crash (emptied then), and its writes skip the WAL.
"""

from alembic import op

revision = "0029_srch_shared_cache"
down_revision = "0027_imp_import_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE UNLOGGED TABLE search_cache_entry (
    generation BIGINT NOT NULL,
    day DATE NOT NULL,
    digest BYTEA NOT NULL,
    value BYTEA NOT NULL,
    stored_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT pk_search_cache_entry PRIMARY KEY (generation, day, digest)
);
""")


def downgrade() -> None:
    op.execute("DROP TABLE search_cache_entry")
