"""« Trouver des leviers », its rules (web/cto/levers.py reads the form and runs
the searches): a situation described without identifying data, and
per barrier the best eligible and reachable offers, found by the search itself
(one SearchQuery per barrier).

Rules:
- eligible and reachable as in the search: from the commune, remote or on site
  within the radius (the N km the person can travel without a vehicle, else
  the default radius of the settings);
- publics: an offer for one of them or for everybody;
- available days: an offer whose opening hours are known and closed on every
  available day is left out; one with no readable hours is kept and said so;
- the best PER_BARRIER offers by pertinence (proximity and freshness, no text);
- a barrier with no eligible, reachable offer is flagged « sans réponse sur le
  territoire ».
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import opening_hours

from catalogue import hours, vocabulary

PER_BARRIER = 5
FETCH = 40  # candidates fetched per barrier before the days filter
MIN_KM, MAX_KM, DEFAULT_NO_VEHICLE_KM = 1, 200, 10
DAYS = (
    ("lundi", "Lundi"),
    ("mardi", "Mardi"),
    ("mercredi", "Mercredi"),
    ("jeudi", "Jeudi"),
    ("vendredi", "Vendredi"),
    ("samedi", "Samedi"),
    ("dimanche", "Dimanche"),
)
DAY_INDEX = {code: i for i, (code, _) in enumerate(DAYS)}


@dataclass
class SituationInput:
    code_commune: str
    commune_label: str
    publics: list[str] = field(default_factory=list)
    barriers: list[str] = field(default_factory=list)
    no_vehicle: bool = False
    max_km: int | None = None
    days: list[str] = field(default_factory=list)
    remarks: str = ""
    keep_days: str = ""

    def constraints(self) -> dict:
        return {"sans_vehicule": self.no_vehicle, "rayon_km": self.max_km, "jours": list(self.days)}


def barrier_codes() -> set[str]:
    return set(vocabulary.spie_group_by_code()) | set(vocabulary.categories()) | set(vocabulary.thematiques())


def barrier_label(code: str) -> str:
    return vocabulary.thematique_label(code)


def open_on_days(expression: str | None, days: list[str], week_start: date) -> bool | None:
    """Whether the hours open at some time on one of `days` (the week starting on
    Monday `week_start`); None when there are no readable hours."""
    if not expression:
        return None
    try:
        oh = hours.parse(expression)
    except hours.HoursError:
        return None
    for day in days:
        start = datetime.combine(week_start + timedelta(days=DAY_INDEX[day]), datetime.min.time())
        for _s, _e, state, _c in oh.intervals(start, start + timedelta(days=1)):
            if state == opening_hours.State.OPEN:
                return True
    return False


def next_week(today: date) -> date:
    """The Monday of the next full week: the days a person is available are
    checked against it (public holidays included)."""
    return today - timedelta(days=today.weekday()) + timedelta(days=7)


def parse_ids(ids: list[str]) -> list[uuid.UUID]:
    out = []
    for i in ids:
        try:
            out.append(uuid.UUID(i))
        except ValueError:
            continue
    return out
