"""Attachments of an orientation (issue 19, point 2: « optional attachments refused
by default »). Only when the setting ORIENTATION_ATTACHMENTS is true: up to
MAX_FILES files per orientation, PDF, PNG or JPEG recognised by their content
(signature), not by their name, each at most ORIENTATION_ATTACHMENT_MAX_KB.

The bytes live in the database (table orientation_attachment), never on disk nor
in a log; their names are personal data too (« cni-marie-curie.pdf »): both are
deleted by the anonymisation after retention and by the erasure on request
(catalogue.orientation_privacy.anonymise), listed (name, type, size) in the right
of access export. Who downloads is catalogue.permissions' question
(can_download_orientation_attachment); each download is logged.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    delete,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalogue.errors import ValidationError
from catalogue.models import Base
from catalogue.orientation import Orientation

FIELD = "pieces_jointes"
MAX_FILES = 3
MAX_NAME = 100
# Media type → (signature at offset 0, extension given to the stored name).
TYPES = {
    "application/pdf": (b"%PDF-", "pdf"),
    "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
    "image/jpeg": (b"\xff\xd8\xff", "jpg"),
}
LABELS = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}


class OrientationAttachment(Base):
    __tablename__ = "orientation_attachment"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    orientation_id: Mapped[int] = mapped_column(ForeignKey("orientation.id", ondelete="CASCADE"), index=True)
    public_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, default=uuid.uuid4,
                                                 server_default=text("gen_random_uuid()"))
    name: Mapped[str] = mapped_column(String(MAX_NAME + 10))
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))

    __table_args__ = (
        CheckConstraint("media_type IN ('application/pdf', 'image/png', 'image/jpeg')", name="media_type"),
        CheckConstraint("size = octet_length(data)", name="size"),
    )

    @property
    def type_label(self) -> str:
        return LABELS.get(self.media_type, self.media_type)


@dataclass(frozen=True)
class Upload:
    """A file checked and ready to store."""

    name: str
    media_type: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """The media type that the content's first bytes show, or None."""
    for media_type, (signature, _) in TYPES.items():
        if data.startswith(signature):
            return media_type
    return None


def safe_name(filename: str | None, media_type: str) -> str:
    """A name one can show and put in a header: no folder, no control or odd
    character, at most MAX_NAME characters, the extension of its real type."""
    name = unicodedata.normalize("NFKC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = re.sub(r"[^\w .()-]+", "_", stem, flags=re.UNICODE)
    stem = re.sub(r"\s+", " ", stem).strip(" ._-")[:MAX_NAME - 5].strip(" ._-")
    return f"{stem or 'piece-jointe'}.{TYPES[media_type][1]}"


def _size(n: int) -> str:
    return f"{n / 1024:.0f} Ko".replace(".", ",")


def check_uploads(files: list[tuple[str | None, bytes]], max_kb: int) -> list[Upload]:
    """`files` as (name as sent, content). Empty parts (a file field left empty) are
    skipped. Raises ValidationError on the field « pieces_jointes » naming the file
    and the reason."""
    files = [(name, data) for name, data in files if name or data]
    errors: list[str] = []
    if len(files) > MAX_FILES:
        raise ValidationError({FIELD: [f"{MAX_FILES} fichiers au plus (reçu {len(files)})"]})
    checked = []
    for name, data in files:
        shown = (safe_name(name, "application/pdf")[:-4] or "fichier")[:60]
        media_type = sniff(data)
        if not data:
            errors.append(f"« {shown} » est vide")
        elif len(data) > max_kb * 1024:
            errors.append(f"« {shown} » dépasse {max_kb} Ko ({_size(len(data))})")
        elif media_type is None:
            errors.append(f"« {shown} » n'est ni un PDF, ni une image PNG ou JPEG (contenu vérifié, pas le nom)")
        else:
            checked.append(Upload(safe_name(name, media_type), media_type, data))
    if errors:
        raise ValidationError({FIELD: errors})
    return checked


def attach(session: Session, orientation: Orientation, uploads: list[Upload]) -> list[OrientationAttachment]:
    rows = [OrientationAttachment(orientation_id=orientation.id, name=u.name, media_type=u.media_type,
                                  size=len(u.data), data=u.data) for u in uploads]
    session.add_all(rows)
    session.flush()
    return rows


def of(session: Session, orientation: Orientation) -> list[OrientationAttachment]:
    """The attachments of an orientation (without their bytes), in upload order."""
    return list(session.scalars(select(OrientationAttachment).where(
        OrientationAttachment.orientation_id == orientation.id).order_by(OrientationAttachment.id)))


def find(session: Session, orientation: Orientation, public_id: uuid.UUID) -> OrientationAttachment | None:
    """One attachment of `orientation` (None when it belongs to another one)."""
    return session.scalar(select(OrientationAttachment).where(
        OrientationAttachment.orientation_id == orientation.id, OrientationAttachment.public_id == public_id))


def delete_all(session: Session, orientation: Orientation) -> int:
    """Delete the attachments of `orientation` (anonymisation, erasure)."""
    result = session.execute(delete(OrientationAttachment).where(
        OrientationAttachment.orientation_id == orientation.id))
    return result.rowcount or 0


def export(session: Session, orientation: Orientation) -> list[dict]:
    """What the right of access lists: names, types and sizes (not the bytes)."""
    return [{"nom": a.name, "type": a.type_label, "taille_octets": a.size} for a in of(session, orientation)]
