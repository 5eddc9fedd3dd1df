"""Probable duplicates across sources: linked, never merged.

Only records created by the current run are examined, against the records of every
other source. The newer record (one created by this run, then by creation time and
id) gets `duplicate_of_id` pointing to the older one and a `duplicate_score` in 0..1
(importers/matching.py says how it is computed):

- score >= matching.HIDE, names agreeing: a sure duplicate, `duplicate_hidden` set:
  left out of the searches, the map and the counts;
- matching.SUGGEST <= score < HIDE: a suggestion: the record stays visible and the
  link goes to the moderators' queue (catalogue.moderation.sync_duplicates), where
  they link (then it is hidden) or unlink it.

Candidates are found cheaply by the database: structures with the same SIRET or
within matching.RADIUS_M (GiST index); services of the same structure, or of the
structure the new one duplicates, with a thematique in common. Word rarity and
contact frequencies are counted over the catalogue once per run, only when there is
a candidate.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from importers import matching

# Names' similarities kept while scoring the pairs of one run (matching.structure_match).
NAMES_KEPT = 200_000
# Candidate pairs read from the database at a time (their structures are read per chunk).
CHUNK = 5000

# The best link of each new record: (old id, score, hidden).
Links = dict[uuid.UUID | str, tuple[uuid.UUID | str, float, bool]]


def _best(found) -> Links:
    best: Links = {}
    for new_id, old_id, match, hidden in found:
        if not match.suggest:
            continue
        if new_id not in best or match.score > best[new_id][1]:
            best[new_id] = (old_id, round(match.score, 3), hidden)
    return best


def _apply(session: Session, table: str, best: Links) -> int:
    if not best:
        return 0
    session.execute(
        text(
            f"UPDATE {table} t SET duplicate_of_id = d.old, duplicate_score = d.score, "
            "duplicate_hidden = d.hidden, updated_at = now() "
            "FROM unnest(CAST(:new AS uuid[]), CAST(:old AS uuid[]), CAST(:score AS float8[]), "
            "CAST(:hidden AS boolean[])) AS d(new, old, score, hidden) WHERE t.id = d.new"
        ),
        {
            "new": [str(k) for k in best],
            "old": [str(v[0]) for v in best.values()],
            "score": [v[1] for v in best.values()],
            "hidden": [v[2] for v in best.values()],
        },
    )
    return len(best)


_NEWER = (
    "AND o.status <> 'archive' AND o.duplicate_of_id IS NULL "
    "AND (o.id NOT IN (SELECT unnest(CAST(:ids AS uuid[]))) OR (o.created_at, o.id) < (n.created_at, n.id)) "
)
_RECORD = ("SELECT s.id::text AS id, s.nom, s.siret, s.adresse, s.commune, c.nom AS commune_ref, s.telephone, s.courriel, "
           "s.site_web FROM structure s LEFT JOIN geo_commune c ON c.code = s.code_insee "
           "WHERE s.id = ANY(CAST(:ids AS uuid[]))")


def structure_catalogue(session: Session) -> matching.Catalogue:
    """Word rarity and contact frequencies over the catalogue's structures."""
    return matching.Catalogue.of(session.execute(text(
        "SELECT nom, telephone, courriel, site_web FROM structure WHERE status <> 'archive'"
    )))


def _records(session: Session, ids: set[str]) -> dict[str, matching.Record]:
    """The structures `ids` (as text) prepared for comparison, each read once."""
    return {
        r.id: matching.record(r.nom, siret=r.siret, telephone=r.telephone, courriel=r.courriel,
                              site_web=r.site_web, adresse=r.adresse, communes=(r.commune, r.commune_ref))
        for r in session.execute(text(_RECORD), {"ids": [str(i) for i in ids]})
    }


def structure_pairs(session: Session, ids: list[uuid.UUID], catalogue: matching.Catalogue | None = None):
    """(new id, old id, match, hidden) for each candidate pair of structures (the ids
    as text: hashed at every pair, a UUID's hash is computed in Python each time)."""
    # Two joins rather than one with OR, so that each uses its index (siret, GiST).
    select_ = (
        "SELECT n.id::text AS n_id, o.id::text AS o_id, (n.siret IS NOT NULL AND o.siret = n.siret) AS same_siret, "
        "ST_Distance(n.location, o.location) AS d "
        "FROM structure n JOIN structure o ON o.source <> n.source " + _NEWER
    )
    where = "WHERE n.id = ANY(CAST(:ids AS uuid[])) AND n.duplicate_of_id IS NULL"
    if not ids:
        return
    if catalogue is None:
        catalogue = structure_catalogue(session)
    # Only the pairs' ids and distance are streamed (a national first import has
    # 400,000 pairs within the radius): each structure's fields are read once, by
    # _records, for the pairs of one chunk that name it first. A pair found by both
    # joins (the same SIRET) is scored once (UNION ALL: a UNION sorts every pair).
    pairs = session.execute(
        text(
            f"{select_} AND n.siret IS NOT NULL AND o.siret = n.siret {where} UNION ALL "
            f"{select_} AND ST_DWithin(n.location, o.location, :radius) {where}"
        ).execution_options(stream_results=True, yield_per=CHUNK),
        {"ids": [str(i) for i in ids], "radius": matching.RADIUS_M},
    )
    prepared: dict[str, matching.Record] = {}
    same_siret: set[tuple[str, str]] = set()  # the pairs both joins can find
    names: dict = {}
    for chunk in pairs.partitions(CHUNK):
        missing = {i for r in chunk for i in (r.n_id, r.o_id) if i not in prepared}
        if missing:
            prepared.update(_records(session, missing))
        for n_id, o_id, same, d in chunk:
            if same:
                if (n_id, o_id) in same_siret:
                    continue
                same_siret.add((n_id, o_id))
            if len(names) > NAMES_KEPT:
                names.clear()
            match = matching.structure_match(prepared[n_id], prepared[o_id], d, catalogue, names)
            yield n_id, o_id, match, match.hide


def service_pairs(session: Session, ids: list[uuid.UUID]):
    """(new id, old id, match, hidden) for each candidate pair of services. A service
    is hidden only when its structure is the same or a hidden duplicate of the other's."""
    # Only the services of a structure that holds services of more than one source, or
    # of a structure flagged as a duplicate, can pair: one pass over the services
    # finds those structures (a join of every new service with its structure's other
    # services cost a second for 100,000 new services of a single source).
    rows = session.execute(
        text(
            "WITH candidates AS ("
            "  SELECT structure_id AS id FROM service GROUP BY structure_id HAVING min(source) <> max(source)"
            "  UNION SELECT id FROM structure WHERE duplicate_of_id IS NOT NULL) "
            "SELECT n.id AS new_id, n.nom AS new_nom, o.id AS old_id, o.nom AS old_nom, "
            "o.structure_id = n.structure_id AS same_structure, "
            "ns.duplicate_score AS structure_score, ns.duplicate_hidden AS structure_hidden "
            "FROM service n JOIN structure ns ON ns.id = n.structure_id "
            "JOIN service o ON o.structure_id = ANY(ARRAY[n.structure_id, ns.duplicate_of_id]) "
            "AND o.source <> n.source AND o.thematiques && n.thematiques " + _NEWER +
            "WHERE n.id = ANY(CAST(:ids AS uuid[])) AND n.duplicate_of_id IS NULL "
            "AND n.structure_id IN (SELECT id FROM candidates)"
        ),
        {"ids": [str(i) for i in ids]},
    ).all()
    if not rows:
        return
    # Offers' names repeat (« Accompagnement socio-professionnel »): each once, with its count.
    catalogue = matching.Catalogue.of_names(session.execute(
        text("SELECT nom, count(*) FROM service WHERE status <> 'archive' GROUP BY nom")))
    for r in rows:
        structure_score = 1.0 if r.same_structure else (r.structure_score or 0.0)
        match = matching.service_match(matching.words(r.new_nom), matching.words(r.old_nom), structure_score,
                                       catalogue)
        yield r.new_id, r.old_id, match, match.hide and (r.same_structure or bool(r.structure_hidden))


def flag(session: Session, created: dict[str, list[uuid.UUID]]) -> dict[str, int]:
    """Link the probable duplicates among the records just created; returns how many
    of each kind were linked (hidden or proposed). Structures first: services use
    their links."""
    found = {"structure": 0, "service": 0}
    if created.get("structure"):
        found["structure"] = _apply(session, "structure", _best(structure_pairs(session, created["structure"])))
    if created.get("service"):
        found["service"] = _apply(session, "service", _best(service_pairs(session, created["service"])))
    return found
