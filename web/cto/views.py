"""Plain dicts of the CTO and steering pages (templates and PDF render them)."""

from __future__ import annotations

from datetime import date

from catalogue import cto_queries, permissions, vocabulary
from catalogue import levers as lever_rules
from catalogue import public_queries as pq
from catalogue import service_page as pv
from catalogue.cto import Shortlist
from search.contract import Hit
from web.search_ import load_services


def shortlist_view(session, shortlist: Shortlist, today: date) -> dict:
    """A saved shortlist in words: the situation, then per barrier the offers kept
    (as they are in the catalogue now), their notes, and the barriers without an
    answer."""
    commune = pq.commune(session, shortlist.code_commune)
    constraints = shortlist.constraints or {}
    totals = constraints.get("totaux", {})
    closed = constraints.get("fermees_les_jours", {})
    all_ids = lever_rules.parse_ids([i for ids in (shortlist.results or {}).values() for i in ids])
    services = {s.id: s for s in load_services(session, [Hit(i, 0.0, None) for i in all_ids])}
    distances = cto_queries.onsite_distances(session, list(services), shortlist.code_commune)
    names = pq.zone_names(session, {c for s in services.values() for c in (s.zone_eligibilite or [])})
    week_start = lever_rules.next_week(today)
    days = constraints.get("jours") or []
    barriers = []
    for code in shortlist.barriers:
        ids = lever_rules.parse_ids((shortlist.results or {}).get(code, []))
        offers = []
        for i in ids:
            s = services.get(i)
            if s is None or not permissions.is_public(s):
                offers.append({"id": str(i), "gone": True, "note": (shortlist.annotations or {}).get(str(i))})
                continue
            summary = pv.service_summary(s, names, today, distances.get(s.id))
            summary["note"] = (shortlist.annotations or {}).get(str(s.id))
            summary["gone"] = False
            if days:
                summary["jours"] = lever_rules.open_on_days(
                    s.horaires_accueil or s.structure.horaires_accueil, days, week_start
                )
            offers.append(summary)
        barriers.append(
            {
                "code": code,
                "label": lever_rules.barrier_label(code),
                "total": totals.get(code, len(ids)),
                "closed_on_days": closed.get(code, 0),
                "offers": offers,
                "no_answer": not ids,
            }
        )
    return {
        "shortlist": shortlist,
        "commune": commune,
        "publics": [vocabulary.publics().get(p, p) for p in shortlist.publics or []],
        "sans_vehicule": constraints.get("sans_vehicule"),
        "rayon_km": constraints.get("rayon_km_utilise") or constraints.get("rayon_km"),
        "jours": [label for code, label in lever_rules.DAYS if code in days],
        "barriers": barriers,
        "no_answer": [b for b in barriers if b["no_answer"]],
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
