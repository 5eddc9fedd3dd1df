"""One database session per request, and what a request sees when PostgreSQL is away."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session


def get_session() -> Session:
    """The request's session (opened on first use, closed at teardown)."""
    if "db" not in g:
        g.db = current_app.extensions["offre"]["sessionmaker"]()
    return g.db


def take_session() -> Session | None:
    """The request's session if it has one, now the caller's to close."""
    return g.pop("db", None)


def close_session(exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()
