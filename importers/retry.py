"""Re-trying quarantined records: their raw payload goes through the normaliser
of their source again (with the options of their run), as a new run. A record
loaded this time is marked resolved."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from importers import registry
from importers.errors import ImporterError
from importers.load import Loader
from importers.models import ImportRun, QuarantinedRecord
from importers.readers import RawRecord


def retry(
    sessions: sessionmaker[Session], *, run_id: int | None = None,
    quarantine_id: int | None = None, payload: dict | None = None,
) -> list[int]:
    """Ids of the new runs (one per original run)."""
    with sessions() as session:
        query = select(QuarantinedRecord).where(QuarantinedRecord.resolved_at.is_(None))
        if quarantine_id is not None:
            query = query.where(QuarantinedRecord.id == quarantine_id)
        if run_id is not None:
            query = query.where(QuarantinedRecord.run_id == run_id)
        rows = session.scalars(query.order_by(QuarantinedRecord.id)).all()
        if quarantine_id is not None and not rows:
            raise ImporterError(f"aucun enregistrement en attente n° {quarantine_id} dans la quarantaine")
        runs = {r.run_id: session.get(ImportRun, r.run_id) for r in rows}
    new_runs = []
    for original_id, original in runs.items():
        mine = [r for r in rows if r.run_id == original_id]
        # One place/row may have produced several rejected items: re-read it once.
        unique: dict[str, QuarantinedRecord] = {}
        for r in mine:
            unique.setdefault(repr(sorted((r.raw or {}).items())) if isinstance(r.raw, dict) else str(r.id), r)
        inputs = list(unique.values())
        records = [
            RawRecord(payload if payload is not None else r.raw,
                      kind=r.kind if r.kind in ("structure", "service") else None)
            for r in inputs
        ]
        source = registry.get(original.source)
        loader = Loader(sessions, source.name, source.normalise,
                        location=f"reprise de la quarantaine (import n° {original_id})",
                        options=original.options, actor=f"import:{source.name}:reprise")
        loader.run(records)
        solved = [r.id for i, r in enumerate(inputs) if i not in loader.rejected_inputs]
        solved_raws = {repr(sorted((r.raw or {}).items())) for r in inputs if r.id in solved and isinstance(r.raw, dict)}
        ids = [r.id for r in mine if r.id in solved or
               (isinstance(r.raw, dict) and repr(sorted(r.raw.items())) in solved_raws)]
        with sessions() as session, session.begin():
            if ids:
                session.execute(
                    update(QuarantinedRecord).where(QuarantinedRecord.id.in_(ids),
                                                    QuarantinedRecord.resolved_at.is_(None))
                    .values(resolved_run_id=loader.run_id, resolved_at=_now())
                )
        new_runs.append(loader.run_id)
    return new_runs


def _now():
    from datetime import datetime

    return datetime.now().astimezone()
