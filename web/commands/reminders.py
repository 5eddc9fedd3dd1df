"""offre reminders …: e-mail the editors of stale offers (daily, from cron); the
work: catalogue/freshness_reminders.py."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from catalogue import freshness_reminders
from web.commands.base import sessions, settings
from web.mail import send_mail


def send_reminders(factory, conf, today: date | None = None, dry_run: bool = False) -> dict:
    """Send the reminders due; returns counts (and the e-mails when dry_run)."""
    return freshness_reminders.send_reminders(factory, conf, send_mail, click.echo, today, dry_run=dry_run)


@click.group("reminders", help="Relances des offres à vérifier (à lancer chaque jour par cron).")
def reminders_group():
    pass


@reminders_group.command("send", help="Envoie par courriel, une fois par période, la liste des offres à vérifier à leurs éditeurs.")
@click.option("--dry-run", is_flag=True, help="Affiche les courriels sans les envoyer ni les enregistrer.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date du jour (AAAA-MM-JJ), pour les essais.")
@with_appcontext
def reminders_send(dry_run, today):
    counts = send_reminders(sessions(), settings(), today.date() if today else None, dry_run=dry_run)
    click.echo(
        f"Offres à vérifier : {counts['perimees']} ; déjà relancées pour cette période : {counts['deja_relancees']} ; "
        f"sans membre à prévenir : {counts['sans_destinataire']} ; courriels envoyés : {counts['courriels']} ; "
        f"échecs : {counts['echecs']}."
    )
    if counts["echecs"]:
        raise click.ClickException("Des courriels n'ont pas pu partir ; ils seront retentés au prochain passage.")


commands = [reminders_group]
