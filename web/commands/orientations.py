"""offre orientations …: the reminders to structures that have not answered an
orientation for ORIENTATION_REMINDER_DAYS working days (weekends and French public
holidays excepted), and the anonymisation of the orientations closed for more than
ORIENTATION_RETENTION_MONTHS. Both run daily from `offre schedule`; both are
idempotent (a reminder is recorded with its date; anonymised data stay so)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import click
from flask.cli import with_appcontext

from catalogue import orientation as orientations
from catalogue import orientation_privacy as privacy
from catalogue import workdays
from catalogue.db import set_actor
from web.commands.base import sessions, settings
from web.orientation import notify


def send_reminders(factory, conf, today: date | None = None, dry_run: bool = False) -> dict:
    """Remind the structures of the orientations due; returns counts."""
    now = datetime.now(UTC) if today is None else datetime.combine(today, time(8), tzinfo=orientations.PARIS)
    today = today or now.astimezone(orientations.PARIS).date()
    counts = {"dues": 0, "courriels": 0, "echecs": 0}
    with factory() as session:
        due = orientations.due_reminders(session, today, conf.orientation_reminder_days)
        counts["dues"] = len(due)
        if dry_run:
            return counts
        set_actor(session, "cli:orientations")
        for o in due:
            ok, recipients = notify.reminder(conf, session, o)
            if not ok:
                counts["echecs"] += 1
                continue
            orientations.record_reminder(session, o, recipients, now=now)
            counts["courriels"] += 1 if recipients else 0
            session.commit()
    return counts


def anonymise(factory, conf) -> int:
    with factory() as session, session.begin():
        set_actor(session, "cli:orientations")
        return privacy.anonymise_expired(session, conf.orientation_retention_months)


@click.group("orientations", help="Orientations : relances des structures, anonymisation après la durée de conservation.")
def orientations_group():
    pass


@orientations_group.command("remind", help="Relance par courriel les structures qui n'ont pas répondu à une orientation "
                            "depuis ORIENTATION_REMINDER_DAYS jours ouvrés.")
@click.option("--dry-run", is_flag=True, help="Compte les relances dues sans rien envoyer ni enregistrer.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date du jour (AAAA-MM-JJ), pour les essais.")
@with_appcontext
def remind(dry_run, today):
    counts = send_reminders(sessions(), settings(), today.date() if today else None, dry_run=dry_run)
    holidays = "" if workdays.HOLIDAYS_KNOWN else " (jours fériés inconnus : seuls les week-ends sont exclus)"
    click.echo(f"Orientations à relancer : {counts['dues']} ; courriels envoyés : {counts['courriels']} ; "
               f"échecs : {counts['echecs']}{holidays}.")
    if counts["echecs"]:
        raise click.ClickException("Des relances n'ont pas pu partir ; elles seront retentées au prochain passage.")


@orientations_group.command("anonymise", help="Anonymise les orientations closes depuis plus de "
                            "ORIENTATION_RETENTION_MONTHS mois.")
@with_appcontext
def anonymise_command():
    count = anonymise(sessions(), settings())
    click.echo(f"Orientations anonymisées : {count}.")


commands = [orientations_group]
