"""The probes of the operations: the checks of /healthz (web/health.py: the
database, the outbox's age, the overall state) and the gauges /metrics reads from
the database at each scrape (web/observability.py registers the collector): the
search outbox, the import runs by status, the scheduled jobs' last runs, the
freshness reminders sent, and whether it answers."""

from __future__ import annotations

import logging
import time

from prometheus_client.core import GaugeMetricFamily

from catalogue import operations
from search import sync


class DatabaseCollector:
    """Gauges read from the database at scrape time."""

    def __init__(self, sessions):
        self.sessions = sessions

    def collect(self):
        outbox_rows = GaugeMetricFamily(
            "offre_search_outbox_rows", "Changements en attente d'indexation (outbox).")
        outbox_age = GaugeMetricFamily(
            "offre_search_outbox_oldest_age_seconds",
            "Âge du plus ancien changement en attente d'indexation (0 : aucun).")
        runs = GaugeMetricFamily(
            "offre_import_runs", "Imports enregistrés, par état.", labels=["status"])
        jobs = GaugeMetricFamily(
            "offre_scheduled_job_last_finished_timestamp_seconds",
            "Fin du dernier passage de chaque tâche planifiée (horodatage Unix), par état.",
            labels=["job", "status"])
        reminders = GaugeMetricFamily(
            "offre_freshness_reminders_sent", "Relances de fraîcheur envoyées (depuis le début).")
        up = GaugeMetricFamily("offre_database_up", "La base répond (1) ou non (0).")
        try:
            with self.sessions() as conn:
                stats = sync.outbox_stats(conn)
                outbox_rows.add_metric([], stats.rows)
                outbox_age.add_metric([], stats.oldest_age_s)
                for status, n in operations.import_runs_by_status(conn):
                    runs.add_metric([status], n)
                for name, status, at in operations.jobs_last_finished(conn):
                    jobs.add_metric([name, status], float(at))
                reminders.add_metric([], operations.reminders_sent(conn))
            up.add_metric([], 1)
        except Exception:  # noqa: BLE001 - the scrape reports the database down
            logging.getLogger(__name__).warning("metrics: database unavailable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        yield from (up, outbox_rows, outbox_age, runs, jobs, reminders)


def database_check(engine) -> dict:
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            operations.ping(conn)
    except Exception as exc:  # any failure means "down" here, with its kind
        return {"status": "down", "error": exc.__class__.__name__}
    return {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}


def outbox_check(sessions, max_age_s: int) -> dict:
    try:
        with sessions() as conn:
            stats = sync.outbox_stats(conn)
    except Exception as exc:
        return {"status": "down", "error": exc.__class__.__name__}
    age = round(stats.oldest_age_s, 1)
    report = {"rows": stats.rows, "oldest_age_s": age, "max_age_s": max_age_s}
    if age > max_age_s:
        return {"status": "down", **report,
                "error": "des changements attendent l'indexation depuis trop longtemps"}
    return {"status": "ok", **report}


def overall(report: dict) -> str:
    """"down" when any part is, "ok" when all are, else "degraded"."""
    states = [part["status"] for part in report.values()]
    if "down" in states:
        return "down"
    return "ok" if all(s == "ok" for s in states) else "degraded"

