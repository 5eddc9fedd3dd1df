"""offre cto …: the retention job of the CTO data (run it daily, e.g. from cron)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import with_appcontext

from catalogue import cto
from catalogue.db import transaction
from web.commands.base import sessions, settings


@click.group("cto", help="Comité technique et pilotage : conservation des données.")
def cto_group():
    pass


@cto_group.command(
    "purge",
    help="Supprime le journal anonyme des recherches plus ancien que SEARCH_LOG_RETENTION_DAYS "
    "et les listes de leviers expirées.",
)
@with_appcontext
def cto_purge():
    days = settings().search_log_retention_days
    with transaction(sessions(), actor="cli:cto") as session:
        logs, lists = cto.purge(session, days, datetime.now(UTC))
    click.echo(
        f"Journal des recherches : {logs} ligne(s) de plus de {days} jours supprimée(s) ; "
        f"listes de leviers expirées supprimées : {lists}."
    )


commands = [cto_group]
