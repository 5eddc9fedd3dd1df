"""Accounts, roles and moderation: who may do what to which structure.

Roles:
- a structure *membre* edits its structure's services;
- a structure *admin* also manages members and invitations;
- a *moderateur* of a territory (geo_territory slug) or a département (code)
  reviews, hides, links duplicates and edits any service of that scope;
- an *administrateur* (User.is_admin) may do everything.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalogue.models import Base


class Role(enum.StrEnum):
    MEMBRE = "membre"
    ADMIN = "admin"


role_enum = Enum(Role, name="structure_role", values_callable=lambda e: [m.value for m in e])


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    nom: Mapped[str | None] = mapped_column(Text)
    # argon2 hash; None for accounts that only log in through OpenID Connect.
    password_hash: Mapped[str | None] = mapped_column(Text)
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    oidc_subject: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")
    moderator_scopes: Mapped[list[ModeratorScope]] = relationship(back_populates="user")


class Membership(Base):
    """A user's role in a structure."""

    __tablename__ = "membership"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structure.id"), index=True)
    role: Mapped[Role] = mapped_column(role_enum, default=Role.MEMBRE)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    user: Mapped[User] = relationship(back_populates="memberships")

    __table_args__ = (UniqueConstraint("user_id", "structure_id", name="uq_membership_user_structure"),)


class ModeratorScope(Base):
    """A moderator's scope: a territory (slug) or a département (code)."""

    __tablename__ = "moderator_scope"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    territory_slug: Mapped[str | None] = mapped_column(String(100))
    departement_code: Mapped[str | None] = mapped_column(String(3))

    user: Mapped[User] = relationship(back_populates="moderator_scopes")


class Invitation(Base):
    """An invitation to join a structure, sent by e-mail; accepted once."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structure.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(role_enum, default=Role.MEMBRE)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JoinRequest(Base):
    """A request to join a structure, approved by its admin or a moderator."""

    __tablename__ = "join_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structure.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="en_attente", server_default="en_attente")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class UserSession(Base):
    """A login, held on the server: the session cookie carries a random nonce whose
    sha256 is `token_hash`. Deleting the row ends the session for every copy of the
    cookie (logout, password change, an administrator's "end all sessions")."""

    __tablename__ = "user_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LoginAttempt(Base):
    """Failed logins, for rate limiting (by e-mail and by IP)."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )


class MailRequest(Base):
    """An account e-mail asked for (registration, verification link, password
    reset), by address and by IP: rate-limited so that nobody can make the service
    flood an address."""

    __tablename__ = "account_mail_request"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_account_mail_request_email_at", "email", "at"),
        Index("ix_account_mail_request_ip_at", "ip", "at"),
    )


class ModerationItem(Base):
    """An entry of the moderation queue: a new or changed offer, a public error
    report, or a duplicate suggestion of the importers."""

    __tablename__ = "moderation_item"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # nouvelle_offre, signalement, doublon
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service.id"), index=True)
    structure_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("structure.id"), index=True)
    error_report_id: Mapped[int | None] = mapped_column(ForeignKey("error_report.id"))
    status: Mapped[str] = mapped_column(String(20), default="a_traiter", server_default="a_traiter")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ModerationDecision(Base):
    """Every moderation decision, logged."""

    __tablename__ = "moderation_decision"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("moderation_item.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    decision: Mapped[str] = mapped_column(String(30))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TakenOverField(Base):
    """A field of an imported service that its structure edited itself: imports no
    longer overwrite it (see docs/permissions.md)."""

    __tablename__ = "taken_over_field"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[dict | None] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RateLimitCounter(Base):
    """A fixed-window counter of the request limiter (Flask-Limiter, through the
    `limits` storage of catalogue.ratelimit): shared by every worker and process."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
