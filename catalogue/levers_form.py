"""The situation of « Trouver des leviers » (the CTO pages' form, web/cto/levers.py)
read from the posted fields: the commune, the publics, the barriers, the distance,
the days; or the errors, field -> French message naming the field."""

from __future__ import annotations

from typing import TYPE_CHECKING

from catalogue import public_queries as pq
from catalogue import vocabulary
from catalogue.levers import (
    DAY_INDEX,
    DEFAULT_NO_VEHICLE_KM,
    MAX_KM,
    MIN_KM,
    SituationInput,
    barrier_codes,
)
from catalogue.schemas import parse_int

if TYPE_CHECKING:  # the posted form (request.form)
    from werkzeug.datastructures import MultiDict


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
