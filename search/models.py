"""Tables of the PostgreSQL search engine (migration 0003).

`search_document` holds one weighted French tsvector per service (names A,
thematique/public/type labels B, description C), kept current by statement-level
triggers on service and structure. `search_word` is the dictionary of words of
names and labels (unaccented, lower case) that typo correction looks up with
pg_trgm. `search_label` holds the vocabulary labels the triggers write into the
vectors (the vocabulary lives in Python; the triggers need it in SQL).
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from catalogue.models import Base


class SearchDocument(Base):
    __tablename__ = "search_document"

    service_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("service.id"), primary_key=True
    )
    document = mapped_column(TSVECTOR, nullable=False)

    __table_args__ = (
        Index("ix_search_document_document", "document", postgresql_using="gin"),
    )


class SearchWord(Base):
    __tablename__ = "search_word"

    word: Mapped[str] = mapped_column(Text, primary_key=True)

    __table_args__ = (
        Index(
            "ix_search_word_word_trgm",
            "word",
            postgresql_using="gin",
            postgresql_ops={"word": "gin_trgm_ops"},
        ),
    )


class SearchLabel(Base):
    """kind: thematique, categorie, spie (code = a category, label = its SPIE group),
    public, type."""

    __tablename__ = "search_label"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    label: Mapped[str] = mapped_column(Text)
