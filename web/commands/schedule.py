"""offre schedule: the scheduler of the daily and hourly jobs, built on APScheduler.
The jobs' table, periods and runner live in catalogue/schedule.py."""

from __future__ import annotations

import logging
import signal
from datetime import datetime

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask.cli import with_appcontext

from catalogue import jobs as job_runs
from catalogue.schedule import PARIS, jobs_for, run_due, run_job
from web.commands.base import sessions, settings
from web.logs import configure as configure_logs

log = logging.getLogger(__name__)


@click.command("schedule", help="Planificateur des tâches quotidiennes et horaires (relances, purge, index).")
@click.option("--once", is_flag=True, help="Lancer une fois les tâches dues, puis s'arrêter.")
@click.option("--list", "show", is_flag=True, help="Afficher les tâches et leur dernier passage.")
@with_appcontext
def schedule(once, show):
    factory = sessions()
    jobs = jobs_for(settings())
    if show:
        with factory() as session:
            last = job_runs.last_runs(session)
        for job in jobs:
            run = last.get(job.name)
            when = run.finished_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M") if run and run.finished_at else "jamais"
            state = run.status if run else "jamais"
            click.echo(f"{job.name:20} {job.cron:12} offre {' '.join(job.args):18} dernier : {when} ({state})")
        return
    configure_logs(settings().log_format)
    if once:
        results = run_due(factory, jobs=jobs)
        click.echo(", ".join(f"{k} : {'ok' if v else 'échec'}" for k, v in results.items())
                   or "Rien à faire.")
        if not all(results.values()):
            raise click.ClickException("Une tâche a échoué (voir `offre schedule --list`).")
        return
    scheduler = BlockingScheduler(timezone=PARIS)
    for job in jobs:
        scheduler.add_job(run_job, job.trigger(), args=[factory, job], id=job.name,
                          max_instances=1, coalesce=True, misfire_grace_time=3600)
    # Catch-up: at start, then every ten minutes (missed periods, failed runs).
    scheduler.add_job(run_due, IntervalTrigger(minutes=10, timezone=PARIS), args=[factory, jobs],
                      id="rattrapage", next_run_time=datetime.now(PARIS), max_instances=1,
                      coalesce=True)
    log.info("scheduler: %d jobs", len(jobs))
    # docker stop / systemd: stop taking jobs; a running job's process finishes alone.
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


commands = [schedule]
