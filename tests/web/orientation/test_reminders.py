"""Reminders to the structures that have not answered, counted in working days, sent
by `offre orientations remind` (a job of `offre schedule`); the anonymisation job."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from catalogue.orientation import Orientation
from catalogue.schedule import JOBS
from tests.web.orientation.conftest import mails
from web.commands import orientations as command


def test_the_scheduler_runs_both_jobs():
    args = {job.args for job in JOBS}
    assert ("orientations", "remind") in args and ("orientations", "anonymise") in args


def test_reminders_on_working_days(app, db, world, smtp, sent):
    found = db.scalar(select(Orientation).where(Orientation.public_id == sent["public_id"]))
    # Sent on Thursday 24 December 2026: Christmas and the weekend do not count.
    found.waiting_since = found.created_at = datetime(2026, 12, 24, 9, tzinfo=UTC)
    db.commit()
    conf = app.extensions["offre"]["settings"]
    factory = app.extensions["offre"]["sessionmaker"]
    before = len(mails(smtp, 3))
    assert command.send_reminders(factory, conf, date(2026, 12, 30))["dues"] == 0  # 28, 29, 30: 3 days
    assert command.send_reminders(factory, conf, date(2026, 12, 31))["dues"] == 0  # 4 days
    counts = command.send_reminders(factory, conf, date(2027, 1, 4))  # 31/12, (1/1 off), 4/1: 5 days
    assert counts == {"dues": 1, "courriels": 1, "echecs": 0}
    reminder = mails(smtp, before + 1)[-1]
    assert "Rappel" in reminder["Subject"] and "membre-a@example.org" in reminder["To"]
    assert "Marie" not in reminder.get_content()
    assert command.send_reminders(factory, conf, date(2027, 1, 4))["dues"] == 0  # once


def test_the_anonymisation_job(app, db, world, sent):
    found = db.scalar(select(Orientation).where(Orientation.public_id == sent["public_id"]))
    found.closed_at = datetime.now(UTC) - timedelta(days=31 * 25)
    found.status = "acceptee"
    db.commit()
    conf = app.extensions["offre"]["settings"]
    assert command.anonymise(app.extensions["offre"]["sessionmaker"], conf) == 1
    db.refresh(found)
    assert found.person_name is None and found.anonymised_at is not None
