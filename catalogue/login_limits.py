"""Failed logins slow an attacker down without locking the owner out.

Failures are counted over LOGIN_WINDOW by two keys:
- an account from one client address: `free` failures, then the next try must wait
  2, 4, 8… seconds after the last failure (capped at `max_delay`);
- a client address over every account: ten times `free`, then the same doubling.

A try made while a wait runs is refused before the password is checked and is not
counted. The account itself is never locked: its owner, from an address that did not
fail, logs in at once, whatever others tried; a successful login forgets the account's
failures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogue.accounts import LoginAttempt

LOGIN_WINDOW = timedelta(hours=24)
PER_ADDRESS_FACTOR = 10


@dataclass(frozen=True)
class Policy:
    free: int = 3
    max_delay: int = 900  # seconds


def delay_after(failures: int, free: int, max_delay: int) -> int:
    """Seconds to wait after the last failure, once `failures` were counted."""
    if failures < free:
        return 0
    exponent = failures - free + 1
    return max_delay if exponent >= 30 else min(max_delay, 2**exponent)


def _count_and_last(db: Session, *conditions) -> tuple[int, datetime | None]:
    since = datetime.now(UTC) - LOGIN_WINDOW
    count, last = db.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(LoginAttempt.at >= since, *conditions)
    ).one()
    return count, last


def wait_seconds(db: Session, email: str, ip: str, policy: Policy) -> int:
    """Seconds before `ip` may try to log in to `email` again (0: now)."""
    now = datetime.now(UTC)
    remaining = 0
    for conditions, free in (
        ((LoginAttempt.email == email, LoginAttempt.ip == ip), policy.free),
        ((LoginAttempt.ip == ip,), policy.free * PER_ADDRESS_FACTOR),
    ):
        count, last = _count_and_last(db, *conditions)
        delay = delay_after(count, free, policy.max_delay)
        if delay and last is not None:
            remaining = max(remaining, math.ceil(delay - (now - last).total_seconds()))
    return max(0, remaining)


def record_failure(db: Session, email: str, ip: str) -> None:
    db.add(LoginAttempt(email=email, ip=ip, at=datetime.now(UTC)))
