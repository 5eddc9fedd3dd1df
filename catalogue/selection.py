"""A selection for the person: the few offers a referent (or the person, without an
account) picks to hand over — printed, as a PDF, by e-mail or as a short link.

The selection itself is a list of offer ids (public UUIDs), kept by the web layer in
the signed session cookie: nothing about the person, nothing stored on the server.
A short link (`SelectionLink`, migration 0019) freezes such a list for a set time:
a random token, the ids, the expiry, and the sha256 of an owner secret that only
the creator's session holds (to delete it). No personal data in it.

Rules of who may do what are in catalogue.permissions (last section)."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ARRAY, BigInteger, DateTime, String, delete, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, Session, mapped_column, selectinload

from catalogue import permissions
from catalogue.models import Base, Service, Structure

DEFAULT_MAX_OFFERS = 30
# What new_token() makes: 16 URL-safe characters (96 random bits).
TOKEN_LENGTH = 16
_TOKEN = re.compile(rf"^[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class SelectionError(ValueError):
    """Bad input: `field` names the form field, `message` says why, in French."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field} : {message}")
        self.field, self.message = field, message

    def __str__(self) -> str:
        return f"{self.field} : {self.message}"


class SelectionLink(Base):
    """A selection frozen behind a short link, until `expires_at`."""

    __tablename__ = "selection_link"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    service_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    owner_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


@dataclass(frozen=True)
class Entry:
    """One item of a selection: the offer, or None when it is no longer public."""

    id: uuid.UUID
    service: Service | None

    @property
    def available(self) -> bool:
        return self.service is not None


# ------------------------------------------------------------------ the list of ids

def parse_id(raw: object, field: str = "offre") -> uuid.UUID:
    """An offer id as sent by a form; SelectionError otherwise."""
    text = str(raw or "").strip()
    if not text:
        raise SelectionError(field, "aucune offre indiquée.")
    try:
        return uuid.UUID(text[:64])
    except ValueError:
        raise SelectionError(field, f"« {text[:40]} » n'est pas un identifiant d'offre.") from None


def from_cookie(raw: object, max_offers: int) -> list[uuid.UUID]:
    """The ids kept in the session, cleaned: a tampered or stale value gives what
    can be read of it (never an error: the cookie is signed, but may be old)."""
    if not isinstance(raw, list):
        return []
    out: list[uuid.UUID] = []
    for item in raw[:max_offers]:
        try:
            value = uuid.UUID(str(item))
        except ValueError:
            continue
        if value not in out:
            out.append(value)
    return out


def to_cookie(ids: list[uuid.UUID]) -> list[str]:
    return [str(i) for i in ids]


def add(session: Session, ids: list[uuid.UUID], service_id: uuid.UUID, max_offers: int) -> list[uuid.UUID]:
    """The selection with `service_id` at its end (unchanged if already in it).
    Refuses an offer that is not public, and a selection already full."""
    if service_id in ids:
        return list(ids)
    if public_offer(session, service_id) is None:
        raise SelectionError("offre", f"« {service_id} » n'est pas une offre publiée (identifiant inconnu).")
    if len(ids) >= max_offers:
        raise SelectionError(
            "offre", f"une sélection compte {max_offers} offres au plus : retirez-en une avant d'en ajouter une autre."
        )
    return [*ids, service_id]


def remove(ids: list[uuid.UUID], service_id: uuid.UUID) -> list[uuid.UUID]:
    return [i for i in ids if i != service_id]


MOVES = {"haut": -1, "bas": 1}


def move(ids: list[uuid.UUID], service_id: uuid.UUID, direction: str) -> list[uuid.UUID]:
    """The selection with `service_id` one place up (« haut ») or down (« bas »)."""
    if direction not in MOVES:
        raise SelectionError("sens", f"« {str(direction)[:20]} » : « haut » ou « bas » attendu.")
    if service_id not in ids:
        raise SelectionError("offre", f"« {service_id} » n'est pas dans la sélection.")
    out = list(ids)
    index = out.index(service_id)
    target = index + MOVES[direction]
    if 0 <= target < len(out):
        out[index], out[target] = out[target], out[index]
    return out


# ------------------------------------------------------------------ the offers

def public_offer(session: Session, service_id: uuid.UUID) -> Service | None:
    return session.scalar(
        select(Service).join(Structure, Structure.id == Service.structure_id)
        .where(Service.id == service_id, permissions.public_service())
    )


def entries(session: Session, ids: list[uuid.UUID]) -> list[Entry]:
    """The offers of the selection in its order, each with its structure; an offer
    unpublished (or deleted) since it was chosen comes as Entry(id, None)."""
    if not ids:
        return []
    found = {
        s.id: s for s in session.scalars(
            select(Service).join(Structure, Structure.id == Service.structure_id)
            .options(selectinload(Service.structure))
            .where(Service.id.in_(ids), permissions.public_service())
        )
    }
    return [Entry(i, found.get(i)) for i in ids]


# ------------------------------------------------------------------ short links

def new_token() -> str:
    return secrets.token_urlsafe(12)  # 16 characters


def new_owner_secret() -> str:
    return secrets.token_urlsafe(24)


def owner_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_token(raw: object) -> str:
    """A token as written in a URL; SelectionError (a forged or truncated link)."""
    text = str(raw or "")
    if not _TOKEN.match(text):
        raise SelectionError("lien", "ce lien de sélection est mal formé (jeton invalide) : vérifiez qu'il a été copié en entier.")
    return text


def create_link(session: Session, ids: list[uuid.UUID], *, days: int, now: datetime,
                max_offers: int) -> tuple[SelectionLink, str]:
    """Freezes the selection behind a new link valid `days` days. Returns the link
    and the owner secret (to keep in the creator's session, never stored as such).
    Expired links are deleted on the way (the table stays small)."""
    if not ids:
        raise SelectionError("selection", "la sélection est vide : ajoutez au moins une offre avant de la partager.")
    if len(ids) > max_offers:
        raise SelectionError("selection", f"une sélection compte {max_offers} offres au plus.")
    purge_expired(session, now)
    secret = new_owner_secret()
    link = SelectionLink(token=new_token(), service_ids=list(ids), owner_hash=owner_hash(secret),
                         created_at=now, expires_at=now + timedelta(days=days))
    session.add(link)
    session.flush()
    return link, secret


def find_link(session: Session, token: str) -> SelectionLink | None:
    """The link of a well-formed token (expired or not), or None."""
    return session.scalar(select(SelectionLink).where(SelectionLink.token == check_token(token)))


def delete_link(session: Session, link: SelectionLink, secret: object) -> bool:
    """Deletes the link if `secret` is its owner's; whether it was deleted."""
    if not isinstance(secret, str) or not _SECRET.match(secret):
        return False
    if not permissions.can_delete_selection_link(link, owner_hash(secret)):
        return False
    session.delete(link)
    session.flush()
    return True


def purge_expired(session: Session, now: datetime) -> int:
    return session.execute(delete(SelectionLink).where(SelectionLink.expires_at <= now)).rowcount
