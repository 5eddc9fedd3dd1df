"""The rules of « Trouver des leviers » (the CTO's levers tool): per barrier of a
situation, the best eligible and reachable offers, as answers that tell the truth.
The web layer (web/cto/levers.py) reads the form and hands a search function in;
nothing here knows HTTP or the search engine.

Rules:
- eligible and reachable as in the search: from the commune, remote or on site
  within the person's reach (the N km they can travel, else the default radius);
- publics: an offer for one of them or for everybody;
- available days: an offer whose opening hours are known and closed on every
  available day is left out; one with no readable hours is kept and said so;
- an answer is ON SITE when the offer receives on site (`modes_accueil` empty or
  `en-presentiel`) and is placed within the person's reach; it is REMOTE when the
  offer is offered remotely (`a-distance`) and is not on site within reach. A
  hybrid offer 103 km away is a remote answer, shown « à distance », without km;
- remote and on-site answers are listed apart, the best PER_BARRIER of each by
  pertinence (proximity and freshness, no text);
- constraints exclude what they make useless: without a vehicle, an offer whose
  every thematique of the barrier needs one (NEEDS_VEHICLE: vehicle repair);
  an offer whose every thematique of the barrier is of use on site only
  (ON_SITE_ONLY: childcare, vehicle repair) when it is not on site within reach;
- a barrier with no on-site answer within reach is flagged « aucune réponse de
  proximité »; with no answer at all, « sans réponse sur le territoire ». The
  lever searches are logged with their count of on-site answers
  (`reponses_proximite`), which catalogue.cto.unmet_demand counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache

import opening_hours
from sqlalchemy import select, text
from sqlalchemy.orm import Session, selectinload

from catalogue import hours, vocabulary
from catalogue.models import Service

PER_BARRIER = 5  # per kind of answer (on site, remote)
FETCH = 40  # candidates fetched per barrier before the filters
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

ON_SITE, REMOTE = "sur-place", "a-distance"
# Thematiques (data·inclusion v1) of no use to a person without a vehicle.
NEEDS_VEHICLE = frozenset({"mobilite--entretenir-reparer-son-vehicule"})
# Thematiques whose answer is of use on site only: a remote answer, or an on-site
# one beyond reach, helps nobody (a crèche place 60 km away, a garage online).
ON_SITE_ONLY = frozenset({"famille--garde-denfants", "mobilite--entretenir-reparer-son-vehicule"})
# Why an offer was left out (keys stored in the shortlist's constraints).
EXCLUDED_WORDS = {
    "sans_vehicule": "elles supposent un véhicule",
    "sur_place_seulement": "utiles sur place seulement, et hors de portée",
}

# search(barrier, nearest_first) -> (total, [(service id, metres or None), …])
SearchFn = Callable[[str, bool], tuple[int, list[tuple[uuid.UUID, float | None]]]]


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


@dataclass
class BarrierAnswer:
    """What the levers found for one barrier."""

    code: str
    label: str
    total: int = 0
    on_site: list[tuple[uuid.UUID, float]] = field(default_factory=list)
    remote: list[uuid.UUID] = field(default_factory=list)
    closed_on_days: int = 0
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [str(i) for i, _ in self.on_site] + [str(i) for i in self.remote]

    @property
    def no_nearby(self) -> bool:
        return not self.on_site

    @property
    def no_answer(self) -> bool:
        return not self.on_site and not self.remote


# --- vocabulary ----------------------------------------------------------------------

def barrier_codes() -> set[str]:
    return set(vocabulary.spie_group_by_code()) | set(vocabulary.categories()) | set(vocabulary.thematiques())


def barrier_label(code: str) -> str:
    group = vocabulary.spie_group_by_code().get(code)
    if group:
        return group.label
    return vocabulary.categories().get(code) or vocabulary.thematiques().get(code) or code


@cache
def barrier_scope(code: str) -> frozenset[str]:
    """The thematiques a barrier (SPIE thematic, category or thematique) covers."""
    try:
        return frozenset(vocabulary.expand_thematiques([code]))
    except KeyError:
        return frozenset()


# --- the rules ------------------------------------------------------------------------

def answer_mode(modes_accueil: list[str] | tuple[str, ...] | None, distance_m: float | None,
                radius_km: float) -> str | None:
    """ON_SITE, REMOTE, or None (neither: not an answer for this person)."""
    modes = modes_accueil or ()
    receives_on_site = not modes or vocabulary.EN_PRESENTIEL in modes
    if receives_on_site and distance_m is not None and distance_m <= radius_km * 1000.0:
        return ON_SITE
    if vocabulary.A_DISTANCE in modes:
        return REMOTE
    return None


def useless_because(thematiques: list[str] | None, barrier: str, mode: str | None, no_vehicle: bool) -> str | None:
    """Why a constraint makes the offer useless for this barrier (a key of
    EXCLUDED_WORDS), or None. Only the offer's thematiques of the barrier count:
    a garage that also lends cars is kept for a person without a car."""
    mine = set(thematiques or ())
    relevant = mine & barrier_scope(barrier) or mine
    if not relevant:
        return None
    if no_vehicle and relevant <= NEEDS_VEHICLE:
        return "sans_vehicule"
    if mode != ON_SITE and relevant <= ON_SITE_ONLY:
        return "sur_place_seulement"
    return None


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


def _services(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Service]:
    if not ids:
        return {}
    rows = session.scalars(select(Service).where(Service.id.in_(ids)).options(selectinload(Service.structure)))
    return {r.id: r for r in rows}


def _sort_into(session: Session, answer: BarrierAnswer, hits, situation: SituationInput, radius_km: float,
               week_start: date, seen: set[uuid.UUID]) -> None:
    """Adds the hits (in pertinence order) to the answer's on-site and remote lists."""
    hits = [(i, d) for i, d in hits if i not in seen]
    seen.update(i for i, _ in hits)
    services = _services(session, [i for i, _ in hits])
    for service_id, distance in hits:
        service = services.get(service_id)
        if service is None:
            continue
        mode = answer_mode(service.modes_accueil, distance, radius_km)
        if mode is None:
            continue
        why = useless_because(service.thematiques, answer.code, mode, situation.no_vehicle)
        if why:
            answer.excluded[why] = answer.excluded.get(why, 0) + 1
            continue
        kept = answer.on_site if mode == ON_SITE else answer.remote
        if len(kept) >= PER_BARRIER:
            continue
        if situation.days:
            expression = service.horaires_accueil or service.structure.horaires_accueil
            if open_on_days(expression, situation.days, week_start) is False:
                answer.closed_on_days += 1
                continue
        kept.append((service_id, distance) if mode == ON_SITE else service_id)


def find(session: Session, situation: SituationInput, radius_km: float, today: date,
         search: SearchFn) -> list[BarrierAnswer]:
    """Per barrier, in the order given: the on-site answers within reach and the
    remote ones, the offers left out and why. `search` runs the catalogue's search
    for one barrier (by pertinence, or nearest first)."""
    week_start = next_week(today)
    out = []
    for barrier in situation.barriers:
        answer = BarrierAnswer(code=barrier, label=barrier_label(barrier))
        seen: set[uuid.UUID] = set()
        answer.total, hits = search(barrier, False)
        _sort_into(session, answer, hits, situation, radius_km, week_start, seen)
        if len(answer.on_site) < PER_BARRIER and answer.total > len(hits):
            # Remote offers may fill the pertinence page: the nearest ones next.
            _total, nearest = search(barrier, True)
            _sort_into(session, answer, nearest, situation, radius_km, week_start, seen)
        out.append(answer)
    return out


def distances(session: Session, ids: list[uuid.UUID], code_commune: str) -> dict[uuid.UUID, float]:
    """Metres from the commune centre to each offer received on site with a place
    (hybrid ones included: answer_mode decides how they are shown)."""
    if not ids:
        return {}
    rows = session.execute(
        text(
            """
            SELECT s.id, ST_Distance(s.location, c.centre) AS d
            FROM service s, geo_commune c
            WHERE s.id = ANY(CAST(:ids AS uuid[])) AND c.code = :c AND s.location IS NOT NULL
              AND c.centre IS NOT NULL
              AND (s.modes_accueil = '{}' OR 'en-presentiel' = ANY (s.modes_accueil))
            """
        ),
        {"ids": ids, "c": code_commune},
    ).all()
    return {r.id: r.d for r in rows}


def parse_ids(ids: list[str]) -> list[uuid.UUID]:
    out = []
    for i in ids:
        try:
            out.append(uuid.UUID(i))
        except ValueError:
            continue
    return out
