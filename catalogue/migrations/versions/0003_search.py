"""search: French full-text vectors, typo dictionary, vocabulary labels, triggers

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FUNCTIONS = r"""
-- French stemming over unaccented words: "ménage" and "menage" are one lexeme.
CREATE TEXT SEARCH CONFIGURATION french_unaccent (COPY = french);
ALTER TEXT SEARCH CONFIGURATION french_unaccent
  ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;

-- unaccent() is only STABLE (its dictionary could change); this wrapper names the
-- dictionary so that it may be used in indexes.
CREATE FUNCTION f_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

-- Words (3 letters or more, unaccented, lower case) for typo correction.
CREATE FUNCTION search_add_words(t text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO search_word (word)
  SELECT DISTINCT w FROM regexp_split_to_table(lower(f_unaccent(coalesce(t, ''))), '[^a-z0-9]+') w
  WHERE length(w) >= 3
  ON CONFLICT DO NOTHING
$$;

-- (Re)compute the search documents of the given services.
CREATE FUNCTION search_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_document (service_id, document)
  SELECT s.id,
         setweight(to_tsvector('french_unaccent', coalesce(s.nom, '') || ' ' || coalesce(st.nom, '')), 'A')
      || setweight(to_tsvector('french_unaccent', coalesce(l.labels, '')), 'B')
      || setweight(to_tsvector('french_unaccent', coalesce(s.description, '')), 'C')
  FROM service s
  JOIN structure st ON st.id = s.structure_id
  LEFT JOIN LATERAL (
    SELECT string_agg(lb.label, ' ') AS labels
    FROM search_label lb
    WHERE (lb.kind = 'thematique' AND lb.code = ANY (s.thematiques))
       OR (lb.kind IN ('categorie', 'spie')
           AND lb.code IN (SELECT split_part(t, '--', 1) FROM unnest(s.thematiques) t))
       OR (lb.kind = 'public' AND lb.code = ANY (s.publics))
       OR (lb.kind = 'type' AND lb.code = s.type)
  ) l ON true
  WHERE s.id = ANY (ids)
  ON CONFLICT (service_id) DO UPDATE SET document = EXCLUDED.document;

  PERFORM search_add_words(string_agg(s.nom || ' ' || st.nom, ' '))
  FROM service s JOIN structure st ON st.id = s.structure_id
  WHERE s.id = ANY (ids);
END $$;

-- Statement-level triggers: one refresh per statement (bulk imports stay fast).
CREATE FUNCTION search_service_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_refresh(ARRAY(SELECT id FROM changed));
  RETURN NULL;
END $$;

CREATE FUNCTION search_structure_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_refresh(ARRAY(
    SELECT s.id FROM service s
    JOIN changed c ON c.id = s.structure_id
    JOIN before b ON b.id = c.id
    WHERE c.nom IS DISTINCT FROM b.nom));
  RETURN NULL;
END $$;

CREATE TRIGGER service_search_insert AFTER INSERT ON service
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION search_service_changed();
CREATE TRIGGER service_search_update AFTER UPDATE ON service
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION search_service_changed();
CREATE TRIGGER structure_search_update AFTER UPDATE ON structure
  REFERENCING OLD TABLE AS before NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION search_structure_changed();
"""

DROP_FUNCTIONS = r"""
DROP TRIGGER IF EXISTS structure_search_update ON structure;
DROP TRIGGER IF EXISTS service_search_update ON service;
DROP TRIGGER IF EXISTS service_search_insert ON service;
DROP FUNCTION IF EXISTS search_structure_changed();
DROP FUNCTION IF EXISTS search_service_changed();
DROP FUNCTION IF EXISTS search_refresh(uuid[]);
DROP FUNCTION IF EXISTS search_add_words(text);
DROP FUNCTION IF EXISTS f_unaccent(text);
DROP TEXT SEARCH CONFIGURATION IF EXISTS french_unaccent;
"""


def upgrade() -> None:
    op.create_table(
        "search_document",
        sa.Column("service_id", sa.UUID(), nullable=False),
        sa.Column("document", postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_search_document_service_id_service")
        ),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_search_document")),
    )
    op.create_index(
        "ix_search_document_document", "search_document", ["document"], unique=False,
        postgresql_using="gin",
    )
    op.create_table(
        "search_word",
        sa.Column("word", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_word")),
    )
    op.create_index(
        "ix_search_word_word_trgm", "search_word", ["word"], unique=False,
        postgresql_using="gin", postgresql_ops={"word": "gin_trgm_ops"},
    )
    op.create_table(
        "search_label",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "code", name=op.f("pk_search_label")),
    )
    op.execute(FUNCTIONS)

    from search.labels import refresh_labels

    bind = op.get_bind()
    refresh_labels(bind)
    # Existing catalogue (a database migrated after its data was loaded).
    op.execute("SELECT search_refresh(ARRAY(SELECT id FROM service))")


def downgrade() -> None:
    op.execute(DROP_FUNCTIONS)
    op.drop_table("search_label")
    op.drop_index("ix_search_word_word_trgm", table_name="search_word", postgresql_using="gin")
    op.drop_table("search_word")
    op.drop_index("ix_search_document_document", table_name="search_document", postgresql_using="gin")
    op.drop_table("search_document")
