"""« Trouver des leviers »: a situation described without identifying data, and
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
from werkzeug.datastructures import MultiDict

from catalogue import hours, vocabulary
from catalogue import public_queries as pq
from catalogue.schemas import parse_int
from search.contract import SearchQuery, Sort
from web.search_ import load_services, run_search

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
    group = vocabulary.spie_group_by_code().get(code)
    if group:
        return group.label
    return vocabulary.categories().get(code) or vocabulary.thematiques().get(code) or code


def parse(session, form: MultiDict, departement_code: str | None) -> tuple[SituationInput | None, dict[str, str]]:
    """The situation from the form, or the errors (field -> French message)."""
    errors: dict[str, str] = {}
    code = (form.get("code_commune") or "").strip().upper()
    typed = (form.get("commune") or "").strip()
    commune = pq.commune(session, code) if code else None
    if commune is None and typed:
        matches = pq.resolve_commune(session, typed, departement_code=departement_code)
        if len(matches) == 1:
            commune = matches[0]
        elif matches:
            errors["commune"] = (
                f"Commune : « {typed} » désigne plusieurs communes ("
                + ", ".join(m.label for m in matches[:5])
                + ") ; précisez le code postal."
            )
        else:
            errors["commune"] = f"Commune : aucune commune ne correspond à « {typed} »."
    elif commune is None:
        errors["commune"] = "Commune : indiquez la commune où vit la personne (nom ou code postal)."

    publics = [p for p in form.getlist("publics") if p]
    unknown = [p for p in publics if p not in vocabulary.publics()]
    if unknown:
        errors["publics"] = f"Publics : valeur inconnue « {unknown[0]} »."

    barriers = list(dict.fromkeys(b for b in form.getlist("freins") if b))
    known = barrier_codes()
    if not barriers:
        errors["freins"] = "Freins : cochez au moins un frein (une thématique)."
    elif len(barriers) > 10:
        errors["freins"] = "Freins : 10 au plus par situation."
    elif any(b not in known for b in barriers):
        errors["freins"] = f"Freins : thématique inconnue « {next(b for b in barriers if b not in known)} »."

    no_vehicle = form.get("sans_vehicule") in ("1", "on", "oui")
    max_km = None
    raw_km = (form.get("rayon_km") or "").strip()
    if no_vehicle or raw_km:
        if not raw_km:
            max_km = DEFAULT_NO_VEHICLE_KM
        elif (km := parse_int(raw_km)) is None or not MIN_KM <= km <= MAX_KM:
            errors["rayon_km"] = f"Distance : un nombre entier de kilomètres entre {MIN_KM} et {MAX_KM}, reçu « {raw_km} »."
        else:
            max_km = km

    days = [d for d in form.getlist("jours") if d]
    if any(d not in DAY_INDEX for d in days):
        errors["jours"] = "Jours disponibles : jour inconnu."
    remarks = (form.get("remarques") or "").strip()
    if len(remarks) > 2000:
        errors["remarques"] = f"Remarques : 2 000 caractères au plus ({len(remarks)} reçus)."
    if errors:
        return None, errors
    return (
        SituationInput(
            code_commune=commune.code,
            commune_label=commune.label,
            publics=publics,
            barriers=barriers,
            no_vehicle=no_vehicle,
            max_km=max_km,
            days=sorted(set(days), key=DAY_INDEX.get),
            remarks=remarks,
            keep_days=(form.get("duree") or "").strip(),
        ),
        {},
    )


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


def find(session, situation: SituationInput, default_radius_km: float, today: date, *, log: bool = True) -> list[dict]:
    """Per barrier, in the order given: its code and label, the number of eligible
    and reachable offers, and the ids (with distances) of the best ones kept."""
    radius = situation.max_km if situation.max_km is not None else default_radius_km
    week_start = next_week(today)
    out = []
    for barrier in situation.barriers:
        query = SearchQuery(
            code_commune=situation.code_commune,
            radius_km=radius,
            thematiques=(barrier,),
            publics=tuple(situation.publics),
            sort=Sort.PERTINENCE,
            size=FETCH if situation.days else PER_BARRIER,
            with_facets=False,
        )
        page = run_search(query, log=log)
        kept: list[dict] = []
        closed = 0
        for service in load_services(session, page.hits):
            if situation.days:
                expression = service.horaires_accueil or service.structure.horaires_accueil
                is_open = open_on_days(expression, situation.days, week_start)
                if is_open is False:
                    closed += 1
                    continue
            kept.append({"id": str(service.id)})
            if len(kept) == PER_BARRIER:
                break
        out.append(
            {
                "code": barrier,
                "label": barrier_label(barrier),
                "total": page.total,
                "closed_on_days": closed,
                "ids": [k["id"] for k in kept],
            }
        )
    return out


def parse_ids(ids: list[str]) -> list[uuid.UUID]:
    out = []
    for i in ids:
        try:
            out.append(uuid.UUID(i))
        except ValueError:
            continue
    return out
