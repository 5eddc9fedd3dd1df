"""Server-side sessions: a login is a row of user_session, and the session cookie
carries only the user's id and a random nonce (its sha256 is the row's key).

A session ends, for every copy of the cookie, when its row is deleted: logout, a new
password (every session of the account), an administrator's "end all sessions", or
an expiry — idle (no request for SESSION_IDLE_MINUTES) or absolute
(SESSION_MAX_HOURS after the login)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from catalogue.accounts import User, UserSession

# last_seen_at is written at most once a minute per session (not on every request).
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def open_session(db: Session, user: User) -> str:
    """Record a new session of `user`; returns the nonce for the cookie."""
    nonce = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    db.add(UserSession(token_hash=_hash(nonce), user_id=user.id, created_at=now, last_seen_at=now))
    db.flush()
    return nonce


def check_session(db: Session, user_id: object, nonce: object, lifetimes: Lifetimes) -> bool:
    """Whether the cookie's (user_id, nonce) is a live session; an expired one is
    deleted, a live one has its last_seen_at moved on (at most once a minute)."""
    if not isinstance(user_id, int) or not isinstance(nonce, str) or not nonce or len(nonce) > 200:
        return False
    row = db.get(UserSession, _hash(nonce))
    if row is None or row.user_id != user_id:
        return False
    now = datetime.now(UTC)
    if now - row.last_seen_at > lifetimes.idle or now - row.created_at > lifetimes.absolute:
        db.delete(row)
        return False
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return True


def end_session(db: Session, nonce: object) -> None:
    if isinstance(nonce, str) and nonce:
        db.execute(delete(UserSession).where(UserSession.token_hash == _hash(nonce)))


def end_all_sessions(db: Session, user_id: int) -> int:
    """End every session of the user; how many there were."""
    return db.execute(delete(UserSession).where(UserSession.user_id == user_id)).rowcount


def purge_expired(db: Session, user_id: int, lifetimes: Lifetimes) -> int:
    """Delete the user's sessions that can no longer be used (done at each login, so
    that an account keeps at most the sessions of one lifetime)."""
    now = datetime.now(UTC)
    return db.execute(
        delete(UserSession).where(
            UserSession.user_id == user_id,
            or_(UserSession.last_seen_at < now - lifetimes.idle, UserSession.created_at < now - lifetimes.absolute),
        )
    ).rowcount
