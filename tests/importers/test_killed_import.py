"""An import killed with SIGKILL half-way (`kill -9` of `offre import`): its
preparing process dies with it, no backend stays « idle in transaction », the run
is marked « interrompu » by the next import, which runs to the end — against a
database of its own, with the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from data_inclusion.schema import v1
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from catalogue.db import make_engine, make_sessionmaker
from catalogue.models import AuditLog, Service, Structure
from importers import load, registry
from importers.models import ImportRun
from tests import dbsetup

STRUCTURES, SERVICES = 100, 5_000
OFFRE = Path(sys.executable).with_name("offre")


@pytest.fixture
def own_database(pg_server_url, template_db):
    url = dbsetup.create_test_database(pg_server_url, template_db, label="killed_import_")
    engine = make_engine(url)
    yield url, engine
    engine.dispose()
    dbsetup.drop_database(pg_server_url, url)


def _file(path: Path) -> None:
    """A large data·inclusion export: structures first, then their services (each
    service of a structure on its own thematique: no duplicates to look at)."""
    themes = [t.value for t in v1.Thematique]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(STRUCTURES):
            f.write(json.dumps({"source": "grand-export", "id": f"s{i}", "nom": f"Association d'insertion {i}",
                                "code_insee": "02691", "date_maj": "2026-01-05"}, ensure_ascii=False) + "\n")
        for n in range(SERVICES):
            f.write(json.dumps({
                "source": "grand-export", "id": f"v{n}", "structure_id": f"s{n % STRUCTURES}",
                "nom": f"Atelier d'initiation numéro {n}", "description": "Atelier numérique pour débuter.",
                "thematiques": [themes[n // STRUCTURES]],
                "code_insee": "02691", "zone_eligibilite": ["02"], "date_maj": "2026-01-05",
            }, ensure_ascii=False) + "\n")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state == b"Z"  # a zombie holds nothing (its sockets are closed)
    except OSError:
        return True


def _wait(condition, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def _kill_half_way(process, sessions, url, engine) -> None:
    def some_batches_written() -> bool:
        with sessions() as s:
            done = s.scalar(text(
                "SELECT coalesce(sum((report->'compteurs'->'service'->>'crees')::int), 0) FROM import_run"))
        return done >= 600

    assert _wait(some_batches_written, 300, 0.05), process.stderr.read().decode()[-2000:]
    workers = _children(process.pid)
    assert workers, "the preparing worker runs beside the writer"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    # The worker died with its parent; the database rolled back the batch in flight.
    assert _wait(lambda: all(_gone(w) for w in workers), 10), "the preparing worker outlived the import"
    name = make_url(url).database

    def stuck() -> list:
        # A transaction of its own each time: pg_stat_activity is read once per
        # transaction, so a loop inside one would keep seeing the first answer.
        with engine.connect() as c:
            return c.execute(text(
                "SELECT pid, state, left(query, 200) AS query FROM pg_stat_activity "
                "WHERE datname = :d AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"),
                {"d": name}).all()

    assert _wait(lambda: not stuck(), 15), f"a backend of the killed import stays idle in transaction: {stuck()}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_import_killed_half_way_leaves_nothing_stuck(own_database, tmp_path):
    url, engine = own_database
    sessions = make_sessionmaker(engine)
    path = tmp_path / "grand-export.ndjson"
    _file(path)
    env = {**os.environ, "DATABASE_URL": url, "OFFRE_ENV": "test"}
    process = subprocess.Popen(
        [str(OFFRE), "import", "data-inclusion", str(path), "--batch-size", "300"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        _kill_half_way(process, sessions, url, engine)
    finally:
        try:  # whatever is left of the import's process group (nothing, if all is well)
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(30)
    with sessions() as s:
        killed = s.scalar(select(ImportRun))
        assert killed.status == "en-cours" and killed.pid == process.pid
        half = s.scalar(select(func.count()).select_from(Service))
        assert 0 < half < SERVICES, "killed half-way"

    # The next import marks the killed run, and runs to the end.
    loader = registry.run_import(sessions, "data-inclusion", str(path), tmp_path, batch_size=1000)
    counts = loader.report.as_dict()["compteurs"]
    assert counts["structure"]["lus"] == STRUCTURES
    assert counts["structure"]["crees"] + counts["structure"]["inchanges"] == STRUCTURES
    assert counts["service"]["lus"] == SERVICES
    assert counts["service"]["crees"] == SERVICES - half
    assert counts["service"]["inchanges"] == half
    assert counts["service"]["modifies"] == 0 and counts["service"]["rejetes"] == 0
    with sessions() as s:
        killed = s.get(ImportRun, killed.id)
        assert killed.status == "interrompu" and "relancer l'import le termine" in killed.error
        assert s.get(ImportRun, loader.run_id).status == "termine"
        assert s.scalar(select(func.count()).select_from(Structure)) == STRUCTURES
        assert s.scalar(select(func.count()).select_from(Service)) == SERVICES
        # One audit row per record: nothing written twice, nothing half-written.
        for table, total in (("service", SERVICES), ("structure", STRUCTURES)):
            audit = s.execute(
                select(func.count(), func.count(func.distinct(AuditLog.record_id)))
                .where(AuditLog.table_name == table)).one()
            assert tuple(audit) == (total, total)
        # The search rows are the services.
        assert s.scalar(text(
            "SELECT count(*) FROM search_document d FULL JOIN service v ON v.id = d.service_id "
            "WHERE d.service_id IS NULL OR v.id IS NULL")) == 0
        assert s.scalar(text("SELECT count(*) FROM search_document")) == SERVICES


def test_runs_of_live_processes_are_left_alone(own_database):
    """Only runs of this host whose process is gone are marked."""
    _, engine = own_database
    sessions = make_sessionmaker(engine)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        with sessions() as s, s.begin():
            for pid, host in ((sleeper.pid, os.uname().nodename), (dead.pid, os.uname().nodename),
                              (dead.pid, "autre-machine")):
                s.add(ImportRun(source="dora", location="x", status="en-cours", pid=pid, host=host,
                                options={}, report={}))
            # Yesterday's run whose pid a process started today was given again.
            s.add(ImportRun(source="soliguide", location="x", status="en-cours", pid=sleeper.pid,
                            host=os.uname().nodename, options={}, report={},
                            started_at=datetime.now().astimezone() - timedelta(days=1)))
        with sessions() as s, s.begin():
            marked = load.mark_interrupted(s)
        with sessions() as s:
            states = {(r.pid, r.host, r.source): r.status for r in s.scalars(select(ImportRun))}
        states = {key[:2] if key[2] == "dora" else "reused": state for key, state in states.items()}
        assert len(marked) == 2
        assert states[(sleeper.pid, os.uname().nodename)] == "en-cours"
        assert states["reused"] == "interrompu"
        assert states[(dead.pid, os.uname().nodename)] == "interrompu"
        assert states[(dead.pid, "autre-machine")] == "en-cours"
    finally:
        sleeper.kill()
        sleeper.wait()
