"""Steering of the offer (the SPIE team's dashboard): offers by SPIE thematic and
territory, freshness, sources, pending duplicates. Counts published services of
published structures, hidden duplicates left out (as the search does), unless
said otherwise.

An offer is *fresh* when the latest of its source's `date_maj` and its partner's
last confirmation (else its creation) is within its own update frequency
(`frequence_maj_jours`), counted back from `today`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from catalogue import vocabulary

_PUBLISHED = (
    "s.status = 'publie' AND st.status = 'publie' AND NOT s.duplicate_hidden"
)
_FRESH = (
    "coalesce(greatest(s.date_maj, (s.confirmed_at AT TIME ZONE 'Europe/Paris')::date), "
    "(s.created_at AT TIME ZONE 'Europe/Paris')::date) >= CAST(:today AS date) - s.frequence_maj_jours"
)


def _group_params() -> dict:
    cats = vocabulary.spie_group_of_categorie()
    return {"cat_keys": list(cats), "cat_groups": [g.code for g in cats.values()]}


def by_group(session: Session, today: date) -> list[dict]:
    """Per SPIE thematic, in rank order: offers, fresh offers and their share (%).
    An offer counts once in each thematic one of its thematiques belongs to."""
    rows = session.execute(
        text(
            f"""
            SELECT x.g, count(*) AS offers, count(*) FILTER (WHERE x.fresh) AS fresh
            FROM (
                SELECT DISTINCT s.id, map.g, {_FRESH} AS fresh
                FROM service s JOIN structure st ON st.id = s.structure_id,
                     unnest(s.thematiques) t
                     JOIN unnest(CAST(:cat_keys AS text[]), CAST(:cat_groups AS text[])) AS map(c, g)
                       ON map.c = split_part(t, '--', 1)
                WHERE {_PUBLISHED}
            ) x
            GROUP BY x.g
            """
        ),
        {"today": today, **_group_params()},
    ).all()
    found = {r.g: r for r in rows}
    out = []
    for g in vocabulary.spie_groups():
        r = found.get(g.code)
        offers, fresh = (r.offers, r.fresh) if r else (0, 0)
        out.append({"code": g.code, "label": g.label, "offers": offers, "fresh": fresh, "fresh_pct": _pct(fresh, offers)})
    return out


def by_territory(session: Session, departement_code: str | None) -> list[dict]:
    """Per territory (geo_territory, and the deploying département as a whole):
    offers located in its communes, per SPIE thematic."""
    groups = [g.code for g in vocabulary.spie_groups()]
    areas: list[tuple[str, str, str]] = [
        (t.slug, t.nom, "territoire")
        for t in session.execute(text("SELECT slug, nom FROM geo_territory ORDER BY nom")).all()
    ]
    rows = session.execute(
        text(
            f"""
            WITH areas AS (
                -- Paris, Lyon, Marseille: their arrondissements too (catalogue.places)
                SELECT t.slug, t.communes || ARRAY(SELECT a.code FROM geo_commune a
                                                   WHERE a.type = 'ARM' AND a.parent_code = ANY (t.communes)) AS communes
                FROM geo_territory t
                UNION ALL
                SELECT '#dep', array_agg(code) FROM geo_commune WHERE departement_code = :dep
            )
            SELECT a.slug, x.g, count(DISTINCT x.id) AS offers
            FROM areas a
            JOIN (
                SELECT s.id, s.code_insee, map.g
                FROM service s JOIN structure st ON st.id = s.structure_id,
                     unnest(s.thematiques) t
                     JOIN unnest(CAST(:cat_keys AS text[]), CAST(:cat_groups AS text[])) AS map(c, g)
                       ON map.c = split_part(t, '--', 1)
                WHERE {_PUBLISHED}
            ) x ON x.code_insee = ANY (a.communes)
            GROUP BY a.slug, x.g
            """
        ),
        {"dep": departement_code or "", **_group_params()},
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r.slug, {})[r.g] = r.offers
    if departement_code:
        nom = session.scalar(text("SELECT nom FROM geo_departement WHERE code = :c"), {"c": departement_code})
        areas.insert(0, ("#dep", f"Département : {nom or departement_code}", "departement"))
    return [
        {"slug": slug, "nom": nom, "kind": kind, "by_group": {g: counts.get(slug, {}).get(g, 0) for g in groups}}
        for slug, nom, kind in areas
    ]


def by_source(session: Session, today: date) -> list[dict]:
    """Per source: published offers, fresh ones and their share, flagged duplicates."""
    rows = session.execute(
        text(
            f"""
            SELECT s.source,
                   count(*) FILTER (WHERE {_PUBLISHED}) AS offers,
                   count(*) FILTER (WHERE {_PUBLISHED} AND {_FRESH}) AS fresh,
                   count(*) FILTER (WHERE s.status = 'publie' AND s.duplicate_hidden) AS duplicates
            FROM service s JOIN structure st ON st.id = s.structure_id
            GROUP BY s.source
            ORDER BY offers DESC, s.source
            """
        ),
        {"today": today},
    ).all()
    return [
        {"source": r.source, "offers": r.offers, "fresh": r.fresh, "fresh_pct": _pct(r.fresh, r.offers),
         "duplicates": r.duplicates}
        for r in rows
    ]


def duplicates(session: Session) -> dict:
    """Duplicate suggestions waiting in the moderation queue, and published
    offers hidden as sure duplicates of another (left out of the search)."""
    pending = session.scalar(
        text("SELECT count(*) FROM moderation_item WHERE kind = 'doublon' AND status = 'a_traiter'")
    )
    flagged = session.scalar(
        text("SELECT count(*) FROM service WHERE status = 'publie' AND duplicate_hidden")
    )
    return {"pending": pending or 0, "flagged": flagged or 0}


def totals(session: Session, today: date) -> dict:
    row = session.execute(
        text(
            f"""
            SELECT count(*) AS offers, count(*) FILTER (WHERE {_FRESH}) AS fresh
            FROM service s JOIN structure st ON st.id = s.structure_id WHERE {_PUBLISHED}
            """
        ),
        {"today": today},
    ).one()
    return {"offers": row.offers, "fresh": row.fresh, "fresh_pct": _pct(row.fresh, row.offers)}


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None
