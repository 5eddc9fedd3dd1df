"""The report of an import run (importers.load): counts, rejections and warnings
as import_run.report stores them; and the runs of this host whose process died
(« interrompu »)."""

from __future__ import annotations

import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from importers import limits
from importers.models import ImportRun
from importers.records import SERVICE, STRUCTURE

# Rejections kept in the run's report (all of them are in the quarantine).
REPORT_REJECTIONS_MAX = 1000
COUNTERS = ("lus", "crees", "modifies", "inchanges", "archives", "rejetes", "doublons")


@dataclass
class Report:
    counts: dict[str, Counter] = field(
        default_factory=lambda: {STRUCTURE: Counter(), SERVICE: Counter()}
    )
    rejections: list[dict] = field(default_factory=list)
    warnings: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "compteurs": {k: {c: v.get(c, 0) for c in COUNTERS} for k, v in self.counts.items()},
            "rejets": self.rejections[:REPORT_REJECTIONS_MAX],
            "rejets_total": sum(v["rejetes"] for v in self.counts.values()),
            "avertissements": {limits.strip_control(k): v for k, v in self.warnings.most_common()},
        }


def _process_stat(pid: int) -> tuple[bytes, datetime] | None:
    """(state, start time) of process `pid` of this host (Linux /proc); None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith(b"btime"))
        started = datetime.fromtimestamp(boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")).astimezone()
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return fields[0], started


def process_alive(pid: int, since: datetime | None = None) -> bool:
    """Whether process `pid` of this host is alive (not gone, not a zombie) — and,
    given when the run started, is the one that started it (not a later process
    given the same number)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _process_stat(pid)
    if stat is None:
        return True
    state, started = stat
    if state == b"Z":
        return False
    return since is None or started <= since + timedelta(seconds=2)


def mark_interrupted(session: Session) -> list[int]:
    """Runs « en-cours » of this host whose process no longer exists become
    « interrompu » (their committed batches stay; the database rolled back the one
    in flight). Runs of other hosts are left: their processes cannot be seen here."""
    host = socket.gethostname()
    runs = session.execute(
        select(ImportRun.id, ImportRun.pid, ImportRun.started_at)
        .where(ImportRun.status == "en-cours", ImportRun.host == host, ImportRun.pid.is_not(None))
    ).all()
    dead = [r.id for r in runs if r.pid != os.getpid() and not process_alive(r.pid, r.started_at)]
    if dead:
        session.execute(
            update(ImportRun).where(ImportRun.id.in_(dead), ImportRun.status == "en-cours").values(
                status="interrompu", finished_at=datetime.now().astimezone(),
                error="interrompu : le processus de l'import s'est arrêté avant la fin "
                      "(les lots déjà validés restent ; relancer l'import le termine)",
            )
        )
    return dead


# --- the report in words -------------------------------------------------------------

REPORT_LABELS = {
    "lus": "lus", "crees": "créés", "modifies": "modifiés", "inchanges": "inchangés",
    "archives": "archivés", "rejetes": "rejetés", "doublons": "doublons trouvés (masqués ou proposés)",
}


def report_lines(run: ImportRun) -> list[str]:
    """The run's report in French, line by line (`offre import`, web/commands/imports.py)."""
    lines: list[str] = []
    report = run.report or {}
    state = {"termine": "terminé", "echoue": "échoué", "en-cours": "en cours",
             "interrompu": "interrompu"}
    lines.append(f"Import n° {run.id} — source {run.source} — {run.location}")
    lines.append(f"État : {state.get(run.status, run.status)}"
               + (" — instantané complet" if run.snapshot else ""))
    if run.error:
        lines.append(f"Erreur : {run.error}")
        if run.status == "echoue":
            lines.append("Le catalogue n'a pas été modifié.")
    for kind, title in (("structure", "Structures"), ("service", "Offres")):
        counts = (report.get("compteurs") or {}).get(kind)
        if counts:
            lines.append(f"{title} : " + ", ".join(f"{counts.get(k, 0)} {v}" for k, v in REPORT_LABELS.items()))
    warnings = report.get("avertissements") or {}
    if warnings:
        lines.append("Avertissements :")
        for text, n in warnings.items():
            lines.append(f"  {n} × {text}")
    rejections = report.get("rejets") or []
    if rejections:
        lines.append(f"Rejets ({report.get('rejets_total', len(rejections))}, en quarantaine) :")
        for r in rejections:
            where = f"ligne {r['ligne']}, " if r.get("ligne") else ""
            ident = r.get("id") or "sans identifiant"
            lines.append(f"  - {r['type']} {ident} ({where}source {r.get('source') or '?'}) : {r['motif']}")
        if report.get("rejets_total", 0) > len(rejections):
            lines.append(f"  … et {report['rejets_total'] - len(rejections)} autres (voir la quarantaine).")
    return lines
