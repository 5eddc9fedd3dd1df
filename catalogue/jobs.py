"""Last runs of the scheduled jobs (`offre schedule`): one row per job, claimed for a
period (the job's last scheduled time) by one atomic UPDATE, so that a job runs once
per period however many schedulers run or restart; a failed run may be tried again,
a run left "running" by a killed scheduler is taken over after `stale_after`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, Integer, String, Text, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalogue.models import Base


class ScheduledJobRun(Base):
    __tablename__ = "scheduled_job_run"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    period: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10), server_default="jamais")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    runs: Mapped[int] = mapped_column(Integer, server_default="0")
    output: Mapped[str | None] = mapped_column(Text)


def claim(session: Session, name: str, period: datetime, *, retry_after: timedelta,
          stale_after: timedelta) -> bool:
    """True when this caller may run `name` for `period` (and marks it running):
    not yet run for that period, or its run failed more than `retry_after` ago, or
    was left running more than `stale_after` ago. The caller commits."""
    session.execute(
        text("INSERT INTO scheduled_job_run (name) VALUES (:n) ON CONFLICT (name) DO NOTHING"),
        {"n": name},
    )
    claimed = session.execute(
        text(
            "UPDATE scheduled_job_run SET period = :p, status = 'en-cours', started_at = now(),"
            " finished_at = NULL, runs = runs + 1"
            " WHERE name = :n AND (period IS NULL OR period < :p"
            "   OR (period = :p AND status = 'echec' AND finished_at < now() - :retry)"
            "   OR (status = 'en-cours' AND started_at < now() - :stale))"
            " RETURNING name"
        ),
        {"n": name, "p": period, "retry": retry_after, "stale": stale_after},
    ).first()
    return claimed is not None


def finish(session: Session, name: str, ok: bool, output: str) -> None:
    session.execute(
        text(
            "UPDATE scheduled_job_run SET status = :s, finished_at = now(), output = :o"
            " WHERE name = :n"
        ),
        {"n": name, "s": "ok" if ok else "echec", "o": output[-4000:]},
    )


def last_runs(session: Session) -> dict[str, ScheduledJobRun]:
    return {r.name: r for r in session.query(ScheduledJobRun).all()}
