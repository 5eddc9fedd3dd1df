"""Probable duplicates across sources: linked, never merged.

The newer record (one created by this run, then by creation time and id) gets `duplicate_of_id` pointing to the
older one and a `duplicate_score` in 0..1; search hides flagged duplicates by
default, and a moderator can unlink them. Only records created by the current run
are examined, against every other source.
- structures: same SIRET (score 0.7 + 0.3 × name similarity), else a name
  similarity of at least 85 % within 500 m (score = similarity weighted by distance);
- services: same structure (or the structure it duplicates), a thematique in
  common, and a name similarity of at least 80 % (score = similarity).
"""

from __future__ import annotations

import re
import unicodedata
import uuid

from rapidfuzz import fuzz
from sqlalchemy import text
from sqlalchemy.orm import Session

STRUCTURE_NAME_MIN = 85.0
STRUCTURE_RADIUS_M = 500
SERVICE_NAME_MIN = 80.0


def fold(name: str | None) -> str:
    text_ = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text_).strip()


def similarity(a: str | None, b: str | None) -> float:
    """0..100, insensitive to case, accents, punctuation and word order."""
    return fuzz.token_set_ratio(fold(a), fold(b))


def _best(pairs) -> dict[uuid.UUID, tuple[uuid.UUID, float]]:
    best: dict[uuid.UUID, tuple[uuid.UUID, float]] = {}
    for new_id, old_id, score in pairs:
        if new_id not in best or score > best[new_id][1]:
            best[new_id] = (old_id, round(score, 3))
    return best


def _apply(session: Session, table: str, best: dict) -> int:
    if not best:
        return 0
    session.execute(
        text(
            f"UPDATE {table} t SET duplicate_of_id = d.old, duplicate_score = d.score, "
            "updated_at = now() FROM unnest(CAST(:new AS uuid[]), CAST(:old AS uuid[]), "
            "CAST(:score AS float8[])) AS d(new, old, score) WHERE t.id = d.new"
        ),
        {
            "new": [str(k) for k in best],
            "old": [str(v[0]) for v in best.values()],
            "score": [v[1] for v in best.values()],
        },
    )
    return len(best)


_NEWER = (
    "AND o.status <> 'archive' AND o.duplicate_of_id IS NULL "
    "AND (o.id NOT IN (SELECT unnest(CAST(:ids AS uuid[]))) OR (o.created_at, o.id) < (n.created_at, n.id)) "
)


def structure_pairs(session: Session, ids: list[uuid.UUID]):
    # Two joins rather than one with OR, so that each uses its index (siret, GiST).
    select_ = (
        "SELECT n.id AS new_id, n.nom AS new_nom, n.siret AS new_siret, o.id AS old_id, "
        "o.nom AS old_nom, o.siret AS old_siret, ST_Distance(n.location, o.location) AS d "
        "FROM structure n JOIN structure o ON o.source <> n.source " + _NEWER
    )
    where = "WHERE n.id = ANY(CAST(:ids AS uuid[])) AND n.duplicate_of_id IS NULL"
    rows = session.execute(
        text(
            f"{select_} AND n.siret IS NOT NULL AND o.siret = n.siret {where} UNION "
            f"{select_} AND ST_DWithin(n.location, o.location, :radius) {where}"
        ),
        {"ids": [str(i) for i in ids], "radius": STRUCTURE_RADIUS_M},
    )
    for r in rows:
        sim = similarity(r.new_nom, r.old_nom)
        if r.new_siret and r.new_siret == r.old_siret:
            yield r.new_id, r.old_id, 0.7 + 0.3 * sim / 100
        elif sim >= STRUCTURE_NAME_MIN and r.d is not None:
            yield r.new_id, r.old_id, sim / 100 * (1 - 0.2 * r.d / STRUCTURE_RADIUS_M)


def service_pairs(session: Session, ids: list[uuid.UUID]):
    # Only the services of a structure that holds services of more than one source, or
    # of a structure flagged as a duplicate, can pair: one pass over the services
    # finds those structures (a join of every new service with its structure's other
    # services cost a second for 100,000 new services of a single source).
    rows = session.execute(
        text(
            "WITH candidates AS ("
            "  SELECT structure_id AS id FROM service GROUP BY structure_id HAVING min(source) <> max(source)"
            "  UNION SELECT id FROM structure WHERE duplicate_of_id IS NOT NULL) "
            "SELECT n.id AS new_id, n.nom AS new_nom, o.id AS old_id, o.nom AS old_nom "
            "FROM service n JOIN structure ns ON ns.id = n.structure_id "
            "JOIN service o ON o.structure_id = ANY(ARRAY[n.structure_id, ns.duplicate_of_id]) "
            "AND o.source <> n.source AND o.thematiques && n.thematiques " + _NEWER +
            "WHERE n.id = ANY(CAST(:ids AS uuid[])) AND n.duplicate_of_id IS NULL "
            "AND n.structure_id IN (SELECT id FROM candidates)"
        ),
        {"ids": [str(i) for i in ids]},
    )
    for r in rows:
        sim = similarity(r.new_nom, r.old_nom)
        if sim >= SERVICE_NAME_MIN:
            yield r.new_id, r.old_id, sim / 100


def flag(session: Session, created: dict[str, list[uuid.UUID]]) -> dict[str, int]:
    """Flag the probable duplicates among the records just created; returns how
    many of each kind were flagged. Structures first: services use their links."""
    found = {"structure": 0, "service": 0}
    if created.get("structure"):
        found["structure"] = _apply(session, "structure", _best(structure_pairs(session, created["structure"])))
    if created.get("service"):
        found["service"] = _apply(session, "service", _best(service_pairs(session, created["service"])))
    return found
