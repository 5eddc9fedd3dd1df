"""The catalogue: structures and services, aligned field by field with
data·inclusion v1, plus provenance, status, freshness, audit and the search outbox.

Field names are those of data·inclusion (`thematiques`, `publics`, `frais`…);
lists of codes are PostgreSQL arrays. Coordinates live in `location`
(geography Point 4326); `longitude`/`latitude` are read from it.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from geoalchemy2 import Geography
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from catalogue.facet_keys import FRESH_DATE
from geo.models import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Status(enum.StrEnum):
    BROUILLON = "brouillon"
    PUBLIE = "publie"
    ARCHIVE = "archive"


STATUS_LABELS = {
    Status.BROUILLON: "Brouillon",
    Status.PUBLIE: "Publié",
    Status.ARCHIVE: "Archivé",
}


class LocationPrecision(enum.StrEnum):
    """How good `location` is: given by the source, geocoded, or the commune centre."""

    SOURCE = "source"
    ADRESSE = "adresse"
    COMMUNE = "commune"


# A record hidden as a duplicate always says of which record.
HIDDEN_HAS_LINK = "NOT duplicate_hidden OR duplicate_of_id IS NOT NULL"

status_enum = Enum(Status, name="status", values_callable=lambda e: [m.value for m in e])
precision_enum = Enum(
    LocationPrecision, name="location_precision", values_callable=lambda e: [m.value for m in e]
)


class _Record:
    """Columns shared by structures and services."""

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    # Provenance: the producer and its own id, unique together.
    source: Mapped[str] = mapped_column(String(100))
    source_id: Mapped[str] = mapped_column(String(300))
    raw: Mapped[dict | None] = mapped_column(JSONB)
    date_maj: Mapped[date | None] = mapped_column(Date)
    status: Mapped[Status] = mapped_column(status_enum, default=Status.PUBLIE)
    # The status the source gave the record at the last import, in its own words
    # (Soliguide: "ONLINE/ALL"…); an import applies the source's status only when
    # this changes. None for sources that say nothing of it.
    source_status: Mapped[str | None] = mapped_column(String(50))
    nom: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    lien_source: Mapped[str | None] = mapped_column(Text)
    commune: Mapped[str | None] = mapped_column(Text)
    code_postal: Mapped[str | None] = mapped_column(String(5))
    code_insee: Mapped[str | None] = mapped_column(String(5))
    adresse: Mapped[str | None] = mapped_column(Text)
    complement_adresse: Mapped[str | None] = mapped_column(Text)
    location = mapped_column(Geography("POINT", srid=4326, spatial_index=False), nullable=True)
    location_precision: Mapped[LocationPrecision | None] = mapped_column(precision_enum)
    telephone: Mapped[str | None] = mapped_column(Text)
    courriel: Mapped[str | None] = mapped_column(Text)
    horaires_accueil: Mapped[str | None] = mapped_column(Text)
    duplicate_score: Mapped[float | None] = mapped_column(Float)
    # The duplicate link (duplicate_of_id) is sure: the record is left out of the
    # searches, the map and the counts. Otherwise the link is only a suggestion for
    # the moderators and the record stays visible (migration 0012).
    duplicate_hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Structure(_Record, Base):
    __tablename__ = "structure"

    siret: Mapped[str | None] = mapped_column(String(14), index=True)
    site_web: Mapped[str | None] = mapped_column(Text)
    accessibilite_lieu: Mapped[str | None] = mapped_column(Text)
    reseaux_porteurs: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("structure.id"), index=True
    )

    services: Mapped[list[Service]] = relationship(back_populates="structure")

    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_structure_source_source_id"),
        CheckConstraint(HIDDEN_HAS_LINK, name="duplicate_hidden_link"),
        Index("ix_structure_location", "location", postgresql_using="gist"),
        # The public map's « its structure is published » (migration 0026_map_index).
        Index("ix_structure_hidden", "id", postgresql_where=text("status <> 'publie'")),
    )


class Service(_Record, Base):
    __tablename__ = "service"

    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structure.id"), index=True)
    type: Mapped[str | None] = mapped_column(String(50))
    thematiques: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    frais: Mapped[str | None] = mapped_column(String(20))
    frais_precisions: Mapped[str | None] = mapped_column(Text)
    publics: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    publics_precisions: Mapped[str | None] = mapped_column(Text)
    conditions_acces: Mapped[str | None] = mapped_column(Text)
    modes_accueil: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    # INSEE codes: commune (5), département (2-3), EPCI (9 digits) or "france".
    # Empty means eligible everywhere. Régions are written as their départements.
    zone_eligibilite: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    contact_nom_prenom: Mapped[str | None] = mapped_column(Text)
    lien_mobilisation: Mapped[str | None] = mapped_column(Text)
    modes_mobilisation: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    mobilisable_par: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    mobilisation_precisions: Mapped[str | None] = mapped_column(Text)
    volume_horaire_hebdomadaire: Mapped[float | None] = mapped_column(Float)
    nombre_semaines: Mapped[int | None] = mapped_column(Integer)
    # A temporary message (a closure explained, an event…) shown on the offer's
    # page with its dates, until message_fin (open-ended without it).
    message_temporaire: Mapped[str | None] = mapped_column(Text)
    message_debut: Mapped[date | None] = mapped_column(Date)
    message_fin: Mapped[date | None] = mapped_column(Date)
    # Freshness: how often (days) the offer should be confirmed, and when it last was.
    frequence_maj_jours: Mapped[int] = mapped_column(Integer, default=180, server_default="180")
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service.id"), index=True
    )
    # Precomputed for the search (never written, left out of the audit log): the
    # date freshness counts from (catalogue/facet_keys.py).
    fresh_date: Mapped[date] = mapped_column(Date, Computed(FRESH_DATE, persisted=True))

    structure: Mapped[Structure] = relationship(back_populates="services")

    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_service_source_source_id"),
        CheckConstraint(HIDDEN_HAS_LINK, name="duplicate_hidden_link"),
        Index("ix_service_location", "location", postgresql_using="gist"),
        Index("ix_service_thematiques", "thematiques", postgresql_using="gin"),
        # The public map's scans (catalogue/map_queries.py, migration 0026_map_index).
        Index("ix_service_map_commune", "code_insee",
              postgresql_include=["id", "structure_id", "location", "thematiques"],
              postgresql_where=text("status = 'publie' AND location IS NOT NULL AND NOT duplicate_hidden")),
    )


class OwnSource(Base):
    """A record `source` whose records are this service's own although an import
    wrote them: a partner's own file (`offre import partenaire`, or the national
    template imported with --source). With `local` (the back-office) and `api-…`
    (the partners' API), what the data·inclusion export publishes under the
    département's name (catalogue.export.is_own_source)."""

    __tablename__ = "own_source"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    # How it was registered: the importer's name (partenaire, data-inclusion).
    via: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditLog(Base):
    """One row per insert/update of a structure or a service, written by a database
    trigger so that no path (ORM, bulk import, SQL) escapes it. `before`/`after` hold
    the changed columns only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str | None] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(String(50))
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(10))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)

    __table_args__ = (Index("ix_audit_log_record", "table_name", "record_id", "at"),)


class SearchOutbox(Base):
    """While an external search engine is fed (search_engine_state.outbox_enabled),
    every committed change of a service (or of its structure) lands here, written by a
    trigger: one row per service at most (a later change moves the row to a new id),
    so the outbox never holds more rows than there are services. The indexing reads
    it in id order and deletes what it has applied. With the PostgreSQL engine (whose
    search rows the triggers keep current themselves) nothing is written here."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True, unique=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ErrorReport(Base):
    """"Signaler une erreur": a report from anyone about a service; it reaches the
    structure and the moderators, and feeds the moderation queue."""

    __tablename__ = "error_report"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service.id"), index=True)
    message: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="nouveau", server_default="nouveau")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handled_by: Mapped[str | None] = mapped_column(Text)
