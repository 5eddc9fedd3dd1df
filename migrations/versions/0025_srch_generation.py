"""srch_generation: the search generation, for the caches of searches

Revision ID: 0025_srch_generation
Revises: 0024_orient_attach

A table `search_generation` (one row per slot: the writing backend's pid modulo
1024) whose sum grows with every committed statement that changes search_document
or search_key (statement-level triggers calling search_generation_bump). The search
caches (search/cache.py) key what they keep by this sum: a commit that changes what a
search finds changes it, and nothing is seen before its commit. The function and the
triggers are those of search/sql/search_generation_bump.sql and search/sql/triggers.sql
at this revision (frozen copies).
"""

from alembic import op

revision = "0025_srch_generation"
down_revision = "0024_orient_attach"
branch_labels = None
depends_on = None

_TABLE = """
CREATE TABLE search_generation (
    slot INTEGER NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT pk_search_generation PRIMARY KEY (slot)
);
"""

_FUNCTION = r"""
-- The catalogue's search generation: its sum over search_generation's rows grows
-- with every committed change of search_document (insert, update, delete,
-- truncate), so that a cache keyed by it (search/cache.py) is invalidated by the
-- very commit that changes what a search finds. One row per slot (the backend's pid
-- modulo 1024): concurrent writers do not wait on one counter row, and the count is
-- transactional (never seen before the change it stands for is).
CREATE OR REPLACE FUNCTION public.search_generation_bump()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO search_generation (slot, n) VALUES (pg_backend_pid() % 1024, 1)
  ON CONFLICT (slot) DO UPDATE SET n = search_generation.n + 1;
  RETURN NULL;
END $function$;
"""

_TRIGGERS = r"""
CREATE OR REPLACE TRIGGER search_document_generation AFTER INSERT OR DELETE OR UPDATE ON public.search_document
  FOR EACH STATEMENT EXECUTE FUNCTION search_generation_bump();
CREATE OR REPLACE TRIGGER search_document_generation_truncate AFTER TRUNCATE ON public.search_document
  FOR EACH STATEMENT EXECUTE FUNCTION search_generation_bump();
CREATE OR REPLACE TRIGGER search_key_generation AFTER INSERT OR DELETE OR UPDATE ON public.search_key
  FOR EACH STATEMENT EXECUTE FUNCTION search_generation_bump();
"""

_DOWN = """
DROP TRIGGER search_document_generation ON search_document;
DROP TRIGGER search_document_generation_truncate ON search_document;
DROP TRIGGER search_key_generation ON search_key;
DROP FUNCTION search_generation_bump();
DROP TABLE search_generation;
"""


def upgrade() -> None:
    op.execute(_TABLE)
    op.execute(_FUNCTION)
    op.execute(_TRIGGERS)


def downgrade() -> None:
    op.execute(_DOWN)
