"""What the operations' probes read from the database (health page, metrics,
`offre doctor`, `offre db restore`): whether it answers, the import runs by
status, the scheduled jobs' last runs, the freshness reminders sent."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


def ping(conn: Connection | Session) -> None:
    """Raises if the database does not answer."""
    conn.execute(text("select 1"))


def import_runs_by_status(session: Session) -> list[tuple[str, int]]:
    return [tuple(r) for r in session.execute(
        text("SELECT status, count(*) FROM import_run GROUP BY status ORDER BY status"))]


def jobs_last_finished(session: Session) -> list[tuple[str, str, float]]:
    """(job, status, end of its last run as a Unix timestamp) of the jobs that ran."""
    return [tuple(r) for r in session.execute(text(
        "SELECT name, status, extract(epoch FROM finished_at) FROM scheduled_job_run"
        " WHERE finished_at IS NOT NULL ORDER BY name"))]


def reminders_sent(session: Session) -> int:
    return session.scalar(text("SELECT count(*) FROM freshness_reminder")) or 0


def has_schema(session: Session) -> bool:
    """Whether the database holds the service's tables (a migration ran)."""
    return bool(session.scalar(text("SELECT to_regclass('public.alembic_version') IS NOT NULL")))
