"""The scheduled jobs (`offre schedule`, web/commands/schedule.py): their table, their
periods and the runner that claims and records each run, built on APScheduler.

The jobs are a small declared table (JOBS): a name, when (a crontab line, Paris
time) and the `offre` command it runs, in a process of its own (a failing or
leaking job never takes the scheduler down). Each run is claimed in the database
for its period, the job's last scheduled time (catalogue.jobs.claim): a job runs
once per period however many schedulers run, or however often one restarts; a job
missed while the scheduler was stopped runs at its next start (catch-up, also
checked every ten minutes); a failed run is tried again after RETRY_AFTER. The jobs
themselves are idempotent (reminders recorded per service and period, purges by
date), so even a run repeated by hand is harmless.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from catalogue import jobs as job_runs

log = logging.getLogger(__name__)
PARIS = ZoneInfo("Europe/Paris")
RETRY_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class Job:
    name: str
    cron: str  # minute hour day month weekday, Paris time
    args: tuple[str, ...]  # an `offre` command
    description: str
    timeout: timedelta = timedelta(hours=1)

    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(self.cron, timezone=PARIS)


# The jobs of the service; to add one, add a line.
JOBS: tuple[Job, ...] = (
    Job("rappels-fraicheur", "0 7 * * *", ("reminders", "send"),
        "Relances par courriel des offres à vérifier, chaque matin à 7 h."),
    Job("purge-cto", "30 3 * * *", ("cto", "purge"),
        "Purge du journal anonyme des recherches et des listes de leviers expirées, chaque nuit."),
    Job("relances-orientations", "0 8 * * 1-5", ("orientations", "remind"),
        "Relance des structures qui n'ont pas répondu à une orientation, chaque jour ouvré à 8 h."),
    Job("anonymisation-orientations", "45 3 * * *", ("orientations", "anonymise"),
        "Anonymisation des orientations closes depuis plus de ORIENTATION_RETENTION_MONTHS mois, chaque nuit."),
    Job("anonymisation-prescriptions", "50 3 * * *", ("prescriptions", "anonymise"),
        "Anonymisation des prescriptions SPIE closes depuis plus de PRESCRIPTION_RETENTION_MONTHS mois, chaque nuit."),
    Job("index-recherche", "17 * * * *", ("search", "sync"),
        "Filet de sécurité, chaque heure : applique à l'index ce que le processus search-worker "
        "n'aurait pas appliqué (rien avec le moteur PostgreSQL).", timeout=timedelta(minutes=50)),
)


# The département's offer from the national base, each morning after the base's
# nightly rebuild: only when a token is set (without one every run would fail).
NATIONAL_IMPORT = Job(
    "import-national", "0 5 * * *", ("import", "run", "data-inclusion-api"),
    "Import quotidien de l'offre du département depuis l'API nationale data·inclusion "
    "(réglage DATA_INCLUSION_API_TOKEN).", timeout=timedelta(hours=3),
)


def jobs_for(config) -> tuple[Job, ...]:
    """The jobs this deployment runs: JOBS, and the national import when its token is set."""
    return JOBS + ((NATIONAL_IMPORT,) if config.data_inclusion_api_token else ())


def period_of(job: Job, now: datetime) -> datetime | None:
    """The job's last scheduled time at or before `now` (None within its first week)."""
    trigger = job.trigger()
    fire = trigger.get_next_fire_time(None, now - timedelta(days=8))
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last


Runner = Callable[[Job], tuple[bool, str]]


def subprocess_runner(job: Job) -> tuple[bool, str]:
    """Run the job's `offre` command in a process of its own."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "web.cli", *job.args], capture_output=True, text=True,
            timeout=job.timeout.total_seconds(),
        )
    except subprocess.TimeoutExpired:
        return False, f"Arrêté au bout de {job.timeout}."
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def run_job(factory, job: Job, now: datetime | None = None, runner: Runner = subprocess_runner,
            retry_after: timedelta = RETRY_AFTER) -> bool | None:
    """Run `job` for its current period unless already done: True/False (its
    result), None when there was nothing to do."""
    now = now or datetime.now(UTC)
    period = period_of(job, now)
    if period is None:
        return None
    with factory() as session, session.begin():
        claimed = job_runs.claim(session, job.name, period, retry_after=retry_after,
                                 stale_after=job.timeout + timedelta(minutes=10))
    if not claimed:
        return None
    log.info("job %s: start (period %s)", job.name, period.isoformat())
    try:
        ok, output = runner(job)
    except Exception as exc:  # the scheduler outlives any job
        log.exception("job %s failed", job.name)
        ok, output = False, f"{exc.__class__.__name__}: {exc}"
    with factory() as session, session.begin():
        job_runs.finish(session, job.name, ok, output)
    (log.info if ok else log.warning)("job %s: %s", job.name, "ok" if ok else "échec")
    return ok


def run_due(factory, jobs=JOBS, now: datetime | None = None, runner: Runner = subprocess_runner,
            retry_after: timedelta = RETRY_AFTER) -> dict[str, bool]:
    """Every job whose current period has not run yet (or failed), once."""
    results = {}
    for job in jobs:
        result = run_job(factory, job, now, runner, retry_after)
        if result is not None:
            results[job.name] = result
    return results
