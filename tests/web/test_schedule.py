"""`offre schedule` (issue 17, point 1): each job once per period, however many
schedulers run or restart; a failed run tried again; the real jobs run through the
CLI against the test database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from catalogue import jobs as job_runs
from catalogue import schedule
from catalogue.cto import SearchLog
from catalogue.schedule import JOBS, Job, period_of, run_due, subprocess_runner
from web.cli import build_cli


@pytest.fixture
def factory(connection):
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                        expire_on_commit=False)


@pytest.fixture
def cli_runner(app):
    """Runs a job's `offre` command in this process, on the test's transaction."""
    runner = app.test_cli_runner()
    cli = build_cli()

    def run(job):
        result = runner.invoke(cli, list(job.args))
        return result.exit_code == 0, result.output

    return run


def _at(hour, minute=0, day=5):
    # Paris is UTC+1 in December.
    return datetime(2026, 12, day, hour - 1, minute, tzinfo=UTC)


def test_period_is_the_last_scheduled_time():
    daily = Job("j", "0 7 * * *", ("--help",), "")
    assert period_of(daily, _at(6, 59)) == _at(7, day=4)
    assert period_of(daily, _at(7, 0)) == _at(7)
    assert period_of(daily, _at(23, 0)) == _at(7)
    hourly = Job("h", "17 * * * *", ("--help",), "")
    assert period_of(hourly, _at(10, 16)) == _at(9, 17)
    assert period_of(hourly, _at(10, 17)) == _at(10, 17)


def test_every_job_runs_once_then_nothing_until_its_next_period(factory, cli_runner, db):
    old = date.today() - timedelta(days=800)
    db.add(SearchLog(week=old - timedelta(days=old.weekday()), thematiques=[], filters={},
                     result_count=1))
    db.flush()
    now = datetime.now(UTC)
    first = run_due(factory, now=now, runner=cli_runner)
    assert first == {job.name: True for job in JOBS}
    # The purge did its work, through the real command.
    assert db.scalar(text("SELECT count(*) FROM search_log WHERE week < now() - interval '700 days'")) == 0
    with factory() as s:
        runs = job_runs.last_runs(s)
    assert {n: (r.status, r.runs) for n, r in runs.items()} == {j.name: ("ok", 1) for j in JOBS}
    assert "Offres à vérifier" in runs["rappels-fraicheur"].output
    assert "Journal des recherches" in runs["purge-cto"].output
    # Run again (a second scheduler, a restart): nothing runs.
    assert run_due(factory, now=now + timedelta(minutes=1), runner=cli_runner) == {}
    # Next day: the daily jobs run again.
    again = run_due(factory, now=now + timedelta(days=1), runner=cli_runner)
    assert again["rappels-fraicheur"] and again["purge-cto"]


def test_two_claims_of_one_period_only_one_wins(factory):
    period = datetime(2026, 12, 5, 6, tzinfo=UTC)
    args = {"retry_after": timedelta(minutes=30), "stale_after": timedelta(hours=1)}
    with factory() as s, s.begin():
        assert job_runs.claim(s, "essai", period, **args)
    with factory() as s, s.begin():
        assert not job_runs.claim(s, "essai", period, **args)
    with factory() as s, s.begin():
        assert job_runs.claim(s, "essai", period + timedelta(days=1), **args)


def test_a_failed_job_is_recorded_and_tried_again_later(factory):
    job = Job("en-panne", "0 3 * * *", ("nulle-part",), "")
    calls = []

    def failing(j):
        calls.append(j.name)
        raise RuntimeError("serveur SMTP injoignable")

    now = datetime.now(UTC)
    assert run_due(factory, jobs=(job,), now=now, runner=failing) == {"en-panne": False}
    with factory() as s:
        run = job_runs.last_runs(s)["en-panne"]
    assert run.status == "echec" and "SMTP injoignable" in run.output
    # Not before RETRY_AFTER …
    assert run_due(factory, jobs=(job,), now=now, runner=failing) == {}
    # … then again.
    assert run_due(factory, jobs=(job,), now=now, runner=failing,
                   retry_after=timedelta(seconds=-1)) == {"en-panne": False}
    assert calls == ["en-panne", "en-panne"]


def test_subprocess_runner_runs_an_offre_command(monkeypatch):
    monkeypatch.setenv("OFFRE_ENV", "test")  # the jobs' processes read the environment
    ok, output = subprocess_runner(Job("aide", "0 3 * * *", ("schedule", "--help"), ""))
    assert ok and "Planificateur" in output
    ok, output = subprocess_runner(Job("inconnue", "0 3 * * *", ("pas-de-commande",), ""))
    assert not ok and "pas-de-commande" in output


def test_the_job_table_names_existing_commands():
    cli = build_cli()
    for job in (*schedule.JOBS, schedule.NATIONAL_IMPORT):
        group = cli.commands[job.args[0]]
        if len(job.args) > 1:
            assert job.args[1] in group.commands, job
        job.trigger()


def test_list_shows_each_job_and_its_last_run(app, factory, cli_runner):
    run_due(factory, jobs=JOBS[1:2], runner=cli_runner)
    result = app.test_cli_runner().invoke(build_cli(), ["schedule", "--list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(JOBS)
    purge = next(line for line in lines if line.startswith("purge-cto"))
    assert "offre cto purge" in purge and "(ok)" in purge
    assert "dernier : jamais (jamais)" in next(line for line in lines if line.startswith("rappels"))


def test_the_national_import_runs_daily_only_with_a_token():
    from catalogue.schedule import NATIONAL_IMPORT, jobs_for
    from web.settings import Settings

    assert NATIONAL_IMPORT not in jobs_for(Settings(data_inclusion_api_token=""))
    with_token = jobs_for(Settings(data_inclusion_api_token="jeton"))
    assert NATIONAL_IMPORT in with_token and with_token[: len(JOBS)] == JOBS
    assert NATIONAL_IMPORT.args == ("import", "run", "data-inclusion-api")
