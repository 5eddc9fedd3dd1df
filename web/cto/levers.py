"""« Trouver des leviers »: the form read into a situation, and per barrier the
best eligible and reachable offers found by the search itself (one SearchQuery
per barrier). The rules are catalogue.levers'."""

from __future__ import annotations

from datetime import date

from werkzeug.datastructures import MultiDict

from catalogue import public_queries as pq
from catalogue import vocabulary
from catalogue.levers import (
    DAY_INDEX,
    DEFAULT_NO_VEHICLE_KM,
    FETCH,
    MAX_KM,
    MIN_KM,
    PER_BARRIER,
    SituationInput,
    barrier_codes,
    barrier_label,
    next_week,
    open_on_days,
)
from catalogue.schemas import parse_int
from search.contract import SearchQuery, Sort
from web.search_ import load_services, run_search


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
