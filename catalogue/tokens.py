"""API tokens of the partners: one structure, scopes `read` and/or `write`.

A token is shown once, at creation: `offre_<8 hex>_<secret>`. Only its sha256 is
stored (with the short visible prefix, to recognise it in lists). Writes made with a
token are audited as `token:<id>`; the services a token creates by the partner's own
id get the structure's token source (`token_source`), so that the partner id is the
idempotency key of `PUT …/services/<partner_id>`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import ARRAY, DateTime, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalogue import members
from catalogue.errors import NotFound, ValidationError
from catalogue.models import Base, Service, Structure
from catalogue.schemas import parse_int

SCOPES = ("read", "write")
SCOPE_LABELS = {"read": "lecture", "write": "écriture"}
TOKEN_PREFIX = "offre_"
# last_used_at is refreshed at most this often, so reads do not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("structure.id"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    # Visible start of the token ("offre_1a2b3c4d"), to recognise it in lists.
    prefix: Mapped[str] = mapped_column(String(20))
    # sha256 hex of the whole token; the token itself is never stored.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return self.active and scope in self.scopes


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


API_SOURCE_PREFIX = "api-"


def token_source(structure_id: uuid.UUID) -> str:
    """The `source` of the services a structure publishes through the API: one per
    structure, so partner ids of two structures never collide."""
    return f"{API_SOURCE_PREFIX}{structure_id}"


def create_token(
    session: Session,
    structure_id: uuid.UUID,
    *,
    scopes: list[str] | tuple[str, ...] = ("read",),
    name: str = "",
    created_by: str | None = None,
) -> tuple[ApiToken, str]:
    """A new token of the structure, and its plain text (shown once, never stored)."""
    errors: dict[str, list[str]] = {}
    scopes = sorted(set(scopes))
    if not scopes:
        errors["scopes"] = ["au moins une portée (read, write)"]
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        errors["scopes"] = [f"portée inconnue : {', '.join(unknown)} (read, write)"]
    name = (name or "").strip()
    if len(name) > 100:
        errors["name"] = ["100 caractères au plus"]
    if session.get(Structure, structure_id) is None:
        errors["structure_id"] = [f"structure inconnue : {structure_id}"]
    if errors:
        raise ValidationError(errors)
    visible = secrets.token_hex(4)
    plain = f"{TOKEN_PREFIX}{visible}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        structure_id=structure_id,
        name=name or "Jeton d'API",
        prefix=f"{TOKEN_PREFIX}{visible}",
        secret_hash=hash_token(plain),
        scopes=scopes,
        created_by=created_by,
    )
    session.add(token)
    session.flush()
    return token, plain


def authenticate(session: Session, plain: str, *, now: datetime | None = None) -> ApiToken | None:
    """The active token whose plain text this is, or None. Refreshes last_used_at."""
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.secret_hash == hash_token(plain)))
    if token is None or not token.active:
        return None
    now = now or datetime.now(UTC)
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.flush()
    return token


def revoke(session: Session, token_id: int, *, by: str | None = None,
           structure_id: uuid.UUID | None = None) -> ApiToken:
    """Revoke a token (idempotent). With `structure_id`, only a token of that
    structure: another structure's token is NotFound."""
    token = session.get(ApiToken, token_id)
    if token is None or (structure_id is not None and token.structure_id != structure_id):
        raise NotFound(f"jeton inconnu : {token_id}")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        token.revoked_by = by
        session.flush()
    return token


def tokens_of(session: Session, structure_id: uuid.UUID) -> list[ApiToken]:
    """Every token of the structure, newest first (revoked ones included)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.structure_id == structure_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def partner_service(session: Session, structure_id: uuid.UUID, partner_id: str):
    """The service a partner wrote for this structure under its own id, or None."""
    return session.scalar(
        select(Service).where(Service.source == token_source(structure_id), Service.source_id == partner_id)
    )


def actor_labels(db: Session, values) -> dict[str, str]:
    """'user:<id>' → the person's name or address; 'cli' → the command line."""
    ids = {parse_int(v[5:]) for v in values if v and v.startswith("user:") and parse_int(v[5:]) is not None}
    users = members.users_by_id(db, ids)
    labels = {}
    for value in values:
        if not value:
            continue
        if value == "cli":
            labels[value] = "la ligne de commande (offre token)"
        elif value.startswith("user:") and parse_int(value[5:]) in users:
            user = users[parse_int(value[5:])]
            labels[value] = f"{user.nom} ({user.email})" if user.nom else user.email
        else:
            labels[value] = value
    return labels
