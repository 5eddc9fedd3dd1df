"""Tables of the PostgreSQL search engine (migrations 0003 and 0010).

`search_document` is the narrow search table, one row per service, kept current by
statement-level triggers on service and structure (function search_refresh): a
weighted French tsvector (names A, thematique/public/type labels B, description C),
and what every filter, the reach and the score read, so that a search never joins
the wide service rows: visibility (service and structure published), duplicate
flag, zone (its codes prefixed `r:` when the service is offered remotely, `p:` when
it is on site only; `*` stands for an empty zone, eligible everywhere; and the grid
cell `g:<row>:<column>` of an on-site place), remote / on-site, place (unit vector),
freshness date, and the service's keys as ids of `search_key` (its facet keys and
`mobilisable_par:<code>`; the filters are overlaps of these ids). `search_key` also
holds each labelled key's vector, concatenated into the documents. `search_word` is the dictionary of words of
names and labels (unaccented, lower case) that typo correction looks up with
pg_trgm. `search_label` holds the vocabulary labels the triggers write into the
vectors (the vocabulary lives in Python; the triggers need it in SQL).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from catalogue.models import Base


class SearchDocument(Base):
    __tablename__ = "search_document"

    service_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("service.id"), primary_key=True
    )
    document = mapped_column(TSVECTOR, nullable=False)
    visible: Mapped[bool] = mapped_column(Boolean, server_default=false())
    duplicate: Mapped[bool] = mapped_column(Boolean, server_default=false())
    remote: Mapped[bool] = mapped_column(Boolean, server_default=false())
    on_site: Mapped[bool] = mapped_column(Boolean, server_default=true())
    zone: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    # The place as a unit vector (x towards longitude 0 on the equator, z towards the
    # North pole): distances on the sphere in plain arithmetic (search/postgres.py).
    x: Mapped[float | None] = mapped_column(Double)
    y: Mapped[float | None] = mapped_column(Double)
    z: Mapped[float | None] = mapped_column(Double)
    structure_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    code_insee: Mapped[str | None] = mapped_column(String(5))
    fresh_date: Mapped[date | None] = mapped_column(Date)
    keys: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default="{}")

    __table_args__ = (
        # One GIN index for zone, keys and text: ANDed in one scan (migration 0010).
        Index("ix_search_document_terms", "zone", "keys", "document", postgresql_using="gin"),
        Index("ix_search_document_structure_id", "structure_id"),
    )


class SearchKey(Base):
    """A facet key (`<facet>:<value>`, catalogue/facet_keys.py, or
    `mobilisable_par:<code>`) and its id in search_document.keys; `vector` is the
    stemmed label of a labelled key (written by search.labels.refresh_key_vectors)."""

    __tablename__ = "search_key"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    vector = mapped_column(TSVECTOR, nullable=True)


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


class SearchThematiqueKey(Base):
    """The category and SPIE group keys each known thematique gives a service
    (written from the vocabulary by search.labels.refresh_keys)."""

    __tablename__ = "search_thematique_key"

    thematique: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)


class SearchEngineState(Base):
    """One row (id 1): which engine the database feeds. `outbox_enabled` makes the
    triggers write search_outbox (an external engine, Meilisearch, reads it); off
    with the PostgreSQL engine, whose search rows the triggers keep themselves.
    Turned on only by a full rebuild of the external index (search.sync.switch_to)."""

    __tablename__ = "search_engine_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    engine: Mapped[str] = mapped_column(String(20), server_default="postgres")
    outbox_enabled: Mapped[bool] = mapped_column(Boolean, server_default=false())
    rebuilt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)


class SearchGeneration(Base):
    """The catalogue's search generation (migration 0025_srch_generation): the sum of
    `n` over the rows grows at each committed change of the search rows (one row per
    backend slot, so that writers do not queue on one row); search/cache.py keys its
    entries by it."""

    __tablename__ = "search_generation"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, server_default="0")
