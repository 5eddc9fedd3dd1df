"""Plain dicts of the CTO and steering pages (templates and PDF render them)."""

from __future__ import annotations

from datetime import date

from catalogue import levers as catalogue_levers
from catalogue import permissions, vocabulary
from catalogue import public_queries as pq
from catalogue.cto import Shortlist
from search.contract import Hit
from web.cto import levers
from web.public import views as pv
from web.search_ import load_services


def _offer(s, shortlist: Shortlist, names, today, distance, radius_km, days, week_start) -> tuple[str, dict]:
    """One kept offer in words, and how it answers (catalogue.levers.answer_mode):
    on site with its distance, or remote, without the distance of a far-away place."""
    mode = levers.answer_mode(s.modes_accueil, distance, radius_km) or (levers.ON_SITE if distance is not None else levers.REMOTE)
    summary = pv.service_summary(s, names, today, distance if mode == levers.ON_SITE else None)
    if mode == levers.REMOTE:
        summary["distance"], summary["adresse"] = "à distance", None
    summary["note"] = (shortlist.annotations or {}).get(str(s.id))
    summary["gone"] = False
    if days:
        summary["jours"] = levers.open_on_days(s.horaires_accueil or s.structure.horaires_accueil, days, week_start)
    return mode, summary


def shortlist_view(session, shortlist: Shortlist, today: date) -> dict:
    """A saved shortlist in words: the situation, then per barrier the offers kept
    (as they are in the catalogue now), on site and remote apart, their notes, the
    offers left out and why, and the barriers without an answer nearby."""
    commune = pq.commune(session, shortlist.code_commune)
    constraints = shortlist.constraints or {}
    totals = constraints.get("totaux", {})
    closed = constraints.get("fermees_les_jours", {})
    excluded = constraints.get("ecartees", {})
    radius_km = constraints.get("rayon_km_utilise") or constraints.get("rayon_km") or levers.MAX_KM
    all_ids = levers.parse_ids([i for ids in (shortlist.results or {}).values() for i in ids])
    services = {s.id: s for s in load_services(session, [Hit(i, 0.0, None) for i in all_ids])}
    distances = catalogue_levers.distances(session, list(services), shortlist.code_commune)
    names = pq.zone_names(session, {c for s in services.values() for c in (s.zone_eligibilite or [])})
    week_start = levers.next_week(today)
    days = constraints.get("jours") or []
    barriers = []
    for code in shortlist.barriers:
        ids = levers.parse_ids((shortlist.results or {}).get(code, []))
        kinds: dict[str, list] = {levers.ON_SITE: [], levers.REMOTE: [], "gone": []}
        for i in ids:
            s = services.get(i)
            if s is None or not permissions.is_public(s):
                kinds["gone"].append({"id": str(i), "gone": True, "note": (shortlist.annotations or {}).get(str(i))})
                continue
            mode, summary = _offer(s, shortlist, names, today, distances.get(s.id), radius_km, days, week_start)
            kinds[mode].append(summary)
        barriers.append(
            {
                "code": code,
                "label": levers.barrier_label(code),
                "total": totals.get(code, len(ids)),
                "closed_on_days": closed.get(code, 0),
                "offers": kinds[levers.ON_SITE] + kinds[levers.REMOTE] + kinds["gone"],
                "on_site": kinds[levers.ON_SITE],
                "remote": kinds[levers.REMOTE],
                "gone": kinds["gone"],
                "excluded": [(n, levers.EXCLUDED_WORDS.get(k, k)) for k, n in (excluded.get(code) or {}).items() if n],
                "no_answer": not ids,
                "no_nearby": not kinds[levers.ON_SITE],
            }
        )
    return {
        "shortlist": shortlist,
        "commune": commune,
        "publics": [vocabulary.publics().get(p, p) for p in shortlist.publics or []],
        "sans_vehicule": constraints.get("sans_vehicule"),
        "rayon_km": constraints.get("rayon_km_utilise") or constraints.get("rayon_km"),
        "jours": [label for code, label in levers.DAYS if code in days],
        "barriers": barriers,
        "no_answer": [b for b in barriers if b["no_answer"]],
        "no_nearby": [b for b in barriers if b["no_nearby"] and not b["no_answer"]],
    }


# --- coverage -------------------------------------------------------------------------

BAND_LABELS = {
    10: "offre sur place à moins de 10 km",
    30: "la plus proche entre 10 et 30 km",
    50: "la plus proche entre 30 et 50 km",
    None: "aucune offre sur place à moins de 50 km",
}
BAND_COLOURS = {10: "#d9ecf5", 30: "#f6d28b", 50: "#e8893b", None: "#9e1b1b"}


def thematique_options() -> list[dict]:
    """SPIE thematics, each with its data·inclusion thematiques, for a <select>."""
    labels = vocabulary.thematiques()
    return [
        {"code": g.code, "label": g.label,
         "children": [{"code": t, "label": labels[t]} for t in vocabulary.expand_thematiques([g.code])]}
        for g in vocabulary.spie_groups()
    ]
