"""Import runs and the quarantine of rejected records (migration 0002).

A run records what one import did (its counts and each rejection's reason); a
quarantined record keeps the raw payload of a rejected record with its reason,
so that nothing is lost and the record can be re-tried after a fix.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from catalogue.models import Base


class ImportRun(Base):
    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(50))  # registry name: data-inclusion, dora…
    location: Mapped[str] = mapped_column(Text)  # path or URL read
    snapshot: Mapped[bool] = mapped_column(Boolean, default=False)
    # en-cours, termine, echoue (file-level error: nothing written), interrompu (its
    # process died: the batches it committed stay, the one in flight was rolled back)
    status: Mapped[str] = mapped_column(String(20), default="en-cours")
    # The process running it: a run « en-cours » whose process is gone was interrupted.
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    # Options needed to re-read a quarantined payload (e.g. a partner's column mapping).
    options: Mapped[dict] = mapped_column(JSONB, default=dict)
    # Counts per kind ({"structure": {"lus": …}, "service": {…}}), rejections, warnings.
    report: Mapped[dict] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QuarantinedRecord(Base):
    """A rejected record: its reason and raw payload. `resolved_at` is set when a later
    run (a retry or a new import) loads the same record."""

    __tablename__ = "import_quarantine"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("import_run.id"), index=True)
    source: Mapped[str] = mapped_column(String(50))  # registry name of the reader
    kind: Mapped[str] = mapped_column(String(20))  # structure, service or enregistrement
    record_source: Mapped[str | None] = mapped_column(String(100))
    record_id: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    errors: Mapped[dict] = mapped_column(JSONB, default=dict)
    raw: Mapped[dict | list | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id"))
    record_uuid: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        Index("ix_import_quarantine_record", "kind", "record_source", "record_id"),
    )


class ImportDigest(Base):
    """What an import last wrote for a record (importers/digests.py, migration
    0027_imp_import_speed): the digest of the record as read and of what prepared it,
    with the row's version then; an unchanged record is recognised without being
    prepared again."""

    __tablename__ = "import_digest"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    digest: Mapped[bytes] = mapped_column(BYTEA)
    row_version: Mapped[int] = mapped_column(BigInteger)
