"""A storage of the `limits` library on PostgreSQL, for the request limiter.

`limits` (the library under Flask-Limiter) keeps its counters in memory, Redis,
Memcached or MongoDB; the service needs nothing of these to run, and counters in
memory are per worker. This storage keeps fixed-window counters in the table
`rate_limit_counter` (catalogue.accounts.RateLimitCounter), next to the other
counters of the service (failed logins, account e-mails): one atomic
`INSERT … ON CONFLICT` per hit, the same counter for every gunicorn worker and every
machine that shares the database.

URI: `offre-database://`; option `sessions`: a callable returning a new SQLAlchemy
Session (not the request's: a counter is committed even when the request fails).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from limits.storage import Storage
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

SCHEME = "offre-database"
# Expired counters are deleted every PURGE_EVERY hits of a process.
PURGE_EVERY = 500

_INCR = text(
    """
    INSERT INTO rate_limit_counter (key, count, expires_at)
    VALUES (:key, :amount, now() + make_interval(secs => :expiry))
    ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN rate_limit_counter.expires_at <= now()
                     THEN EXCLUDED.count ELSE rate_limit_counter.count + EXCLUDED.count END,
        expires_at = CASE WHEN rate_limit_counter.expires_at <= now()
                          THEN EXCLUDED.expires_at ELSE rate_limit_counter.expires_at END
    RETURNING count
    """
)


class DatabaseStorage(Storage):
    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 sessions: Callable[[], Session] | None = None, **options):
        if sessions is None:
            raise ValueError("DatabaseStorage needs `sessions`, a callable returning a Session")
        self._sessions = sessions
        self._hits = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def _run(self, statement, params=None, *, commit=False):
        with self._sessions() as session:
            result = session.execute(statement, params or {})
            value = result.scalar() if result.returns_rows else result.rowcount
            if commit:
                session.commit()
            return value

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        self._hits += 1
        if self._hits % PURGE_EVERY == 0:
            self._run(text("DELETE FROM rate_limit_counter WHERE expires_at <= now()"), commit=True)
        return int(self._run(_INCR, {"key": key, "amount": amount, "expiry": float(expiry)}, commit=True))

    def get(self, key: str) -> int:
        value = self._run(
            text("SELECT count FROM rate_limit_counter WHERE key = :key AND expires_at > now()"),
            {"key": key},
        )
        return int(value or 0)

    def get_expiry(self, key: str) -> float:
        value = self._run(
            text("SELECT extract(epoch FROM expires_at) FROM rate_limit_counter "
                 "WHERE key = :key AND expires_at > now()"),
            {"key": key},
        )
        return float(value) if value is not None else time.time()

    def check(self) -> bool:
        try:
            self._run(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        return self._run(text("DELETE FROM rate_limit_counter"), commit=True)

    def clear(self, key: str) -> None:
        self._run(text("DELETE FROM rate_limit_counter WHERE key = :key"), {"key": key}, commit=True)
