"""« Trouver des leviers », the web side: the situation read from the form, and the
catalogue's search handed to the rules of catalogue.levers (which see). Each
barrier's search is logged once (the anonymous search log), with the number of
on-site answers within reach (`reponses_proximite`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from werkzeug.datastructures import MultiDict

from catalogue import levers as rules
from catalogue import public_queries as pq
from catalogue import vocabulary
from catalogue.levers import (  # noqa: F401  (the names the CTO pages use)
    DAY_INDEX,
    DAYS,
    DEFAULT_NO_VEHICLE_KM,
    EXCLUDED_WORDS,
    FETCH,
    MAX_KM,
    MIN_KM,
    ON_SITE,
    PER_BARRIER,
    REMOTE,
    BarrierAnswer,
    SituationInput,
    answer_mode,
    barrier_codes,
    barrier_label,
    next_week,
    open_on_days,
    parse_ids,
)
from catalogue.schemas import parse_int
from search.contract import Sort
from web.cto import searchlog
from web.search_ import SEARCH_ARGS, run_search


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


def find(session, situation: SituationInput, default_radius_km: float, today: date) -> list[BarrierAnswer]:
    """Per barrier, the answers of catalogue.levers.find, each barrier's search
    logged once with its count of on-site answers within reach."""
    radius = situation.max_km if situation.max_km is not None else default_radius_km
    first: dict[str, tuple] = {}

    def search(barrier: str, nearest_first: bool):
        # Through the one schema of a search's parameters, as the pages and the API.
        query = replace(SEARCH_ARGS.query({
            "code_commune": situation.code_commune,
            "rayon_km": f"{radius:g}",
            "thematiques": [barrier],
            "publics": list(situation.publics),
            "tri": (Sort.DISTANCE if nearest_first else Sort.PERTINENCE).value,
            "size": str(FETCH),
        }), with_facets=False)
        page = run_search(query, log=False)
        first.setdefault(barrier, (query, page))
        return page.total, [(h.id, h.distance_m) for h in page.hits]

    found = rules.find(session, situation, radius, today, search)
    for answer in found:
        query, page = first[answer.code]
        searchlog.record_levers(query, page, len(answer.on_site))
    return found
