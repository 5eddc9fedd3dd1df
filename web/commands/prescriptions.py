"""offre prescriptions anonymise: the anonymisation of the SPIE prescriptions
closed for more than PRESCRIPTION_RETENTION_MONTHS (an open one counts from its
last activity), run each night by `offre schedule`; idempotent (anonymised data
stay so). The rules: catalogue/prescription_privacy.py."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from catalogue import prescription_privacy as privacy
from catalogue.db import set_actor
from web.commands.base import sessions, settings


def anonymise(factory, conf) -> int:
    if conf.prescription_retention_months < 1:
        raise click.ClickException("PRESCRIPTION_RETENTION_MONTHS : un nombre de mois, 1 au moins.")
    with factory() as session, session.begin():
        set_actor(session, "cli:prescriptions")
        return privacy.anonymise_expired(session, conf.prescription_retention_months)


@click.group("prescriptions", help="Prescriptions SPIE : anonymisation après la durée de conservation.")
def prescriptions_group():
    pass


@prescriptions_group.command("anonymise", help="Anonymise les prescriptions SPIE closes depuis plus de "
                             "PRESCRIPTION_RETENTION_MONTHS mois (ouvertes : depuis leur dernière activité).")
@with_appcontext
def anonymise_command():
    count = anonymise(sessions(), settings())
    click.echo(f"Prescriptions anonymisées : {count}.")


commands = [prescriptions_group]
