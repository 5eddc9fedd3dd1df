"""Steering figures of the orientations (issue 19, point 6): by SPIE thematic, by
territory and by structure, the acceptance rate, the time to answer and the
refusals by reason. Aggregates only: nothing here reads a personal datum."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from catalogue import vocabulary
from catalogue.models import Structure
from catalogue.orientation import REFUSAL_REASONS, Orientation, State

NO_TERRITORY = "Hors des territoires définis"


@dataclass
class Tally:
    label: str
    sent: int = 0
    accepted: int = 0
    refused: int = 0
    waiting: int = 0
    answer_days: list[float] = field(default_factory=list)

    def add(self, row) -> None:
        self.sent += 1
        if row.status == State.ACCEPTEE:
            self.accepted += 1
        elif row.status == State.REFUSEE:
            self.refused += 1
        else:
            self.waiting += 1
        if row.answered_at is not None:
            self.answer_days.append((row.answered_at - row.created_at).total_seconds() / 86400)

    @property
    def acceptance_pct(self) -> float | None:
        """Accepted among those decided (accepted or refused), in %."""
        decided = self.accepted + self.refused
        return round(100 * self.accepted / decided, 1) if decided else None

    @property
    def median_days(self) -> float | None:
        return round(statistics.median(self.answer_days), 1) if self.answer_days else None

    def as_row(self) -> list:
        return [self.label, self.sent, self.accepted, self.refused, self.waiting,
                "" if self.acceptance_pct is None else self.acceptance_pct,
                "" if self.median_days is None else self.median_days]


COLUMNS = ["Envoyées", "Acceptées", "Refusées", "En attente", "Taux d'acceptation (%)",
           "Délai médian de première réponse (jours)"]


def _rows(session: Session, since: date):
    start = datetime.combine(since, time.min, tzinfo=UTC)
    return session.execute(
        select(Orientation.status, Orientation.needs, Orientation.code_insee, Orientation.created_at,
               Orientation.answered_at, Orientation.refusal_reason, Structure.nom.label("structure"))
        .join(Structure, Structure.id == Orientation.structure_id)
        .where(Orientation.created_at >= start)
    ).all()


def _territories(session: Session) -> list[tuple[str, set[str]]]:
    return [(nom, set(communes or ())) for nom, communes in
            session.execute(text("SELECT nom, communes FROM geo_territory ORDER BY nom"))]


def _sorted(tallies: dict[str, Tally]) -> list[Tally]:
    return sorted(tallies.values(), key=lambda t: (-t.sent, t.label))


def figures(session: Session, since: date) -> dict:
    """{total, groups, territories, structures, reasons} for orientations sent since `since`."""
    rows = _rows(session, since)
    total = Tally("Toutes les orientations")
    groups = {g.code: Tally(g.label) for g in vocabulary.spie_groups()}
    territories: dict[str, Tally] = {}
    structures: dict[str, Tally] = {}
    reasons: dict[str, int] = defaultdict(int)
    known = _territories(session)
    for row in rows:
        total.add(row)
        for code in sorted({g.code for n in row.needs if (g := vocabulary.spie_group_of(n))}):
            groups[code].add(row)
        names = [nom for nom, communes in known if row.code_insee in communes] or [NO_TERRITORY]
        for nom in names:
            territories.setdefault(nom, Tally(nom)).add(row)
        structures.setdefault(row.structure, Tally(row.structure)).add(row)
        if row.status == State.REFUSEE:
            reasons[row.refusal_reason] += 1
    refused = sum(reasons.values())
    return {
        "total": total,
        "groups": [groups[g.code] for g in vocabulary.spie_groups()],
        "territories": _sorted(territories),
        "structures": _sorted(structures),
        "reasons": [{"code": code, "label": label, "count": reasons.get(code, 0),
                     "pct": round(100 * reasons.get(code, 0) / refused, 1) if refused else None}
                    for code, label in REFUSAL_REASONS.items()],
    }
