"""Documents for engines that keep their own copy (Meilisearch): one per
published service of a published structure, with everything a filter, a sort or
a facet needs. Built from the catalogue only."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from catalogue import vocabulary
from search.contract import ServiceDocument

EPOCH = date(2000, 1, 1)

_SQL = """
SELECT s.id, s.nom, st.nom AS structure_nom, s.description, s.thematiques, s.publics,
       s.frais, s.type, s.modes_accueil, s.mobilisable_par, s.source, s.structure_id,
       s.code_insee, s.zone_eligibilite, s.duplicate_hidden AS duplicate,
       ST_Y(s.location::geometry) AS lat, ST_X(s.location::geometry) AS lon,
       coalesce(greatest(s.date_maj, (s.confirmed_at AT TIME ZONE 'Europe/Paris')::date),
                (s.created_at AT TIME ZONE 'Europe/Paris')::date) AS fresh
FROM service s JOIN structure st ON st.id = s.structure_id
WHERE s.status = 'publie' AND st.status = 'publie' {extra}
ORDER BY s.id
"""


def document(row) -> ServiceDocument:
    """The document of one row of _SQL (pure)."""
    thematiques = list(row.thematiques or [])
    categories = sorted({vocabulary.categorie_of(t) for t in thematiques})
    groups = sorted({g.code for t in thematiques if (g := vocabulary.spie_group_of(t))})
    modes = list(row.modes_accueil or []) or [vocabulary.EN_PRESENTIEL]
    data = {
        "id": str(row.id),
        "nom": row.nom,
        "structure_nom": row.structure_nom,
        "description": row.description or "",
        "thematiques_labels": [vocabulary.thematiques().get(t, t) for t in thematiques]
        + [vocabulary.categories().get(c, c) for c in categories],
        "publics_labels": [vocabulary.publics().get(p, p) for p in row.publics or []],
        "thematiques": thematiques,
        "categories": categories,
        "thematiques_spie": groups,
        "publics": list(row.publics or []),
        "frais": row.frais,
        "type": row.type,
        "modes_accueil": modes,
        "a_distance": vocabulary.A_DISTANCE in modes,
        "sur_place": vocabulary.EN_PRESENTIEL in modes,
        "mobilisable_par": list(row.mobilisable_par or []),
        "source": row.source,
        "structure_id": str(row.structure_id),
        "code_insee": row.code_insee,
        "zone_codes": list(row.zone_eligibilite or []),
        "zone_vide": not row.zone_eligibilite,
        "duplicate": bool(row.duplicate),
        "fraicheur": (row.fresh - EPOCH).days if row.fresh else 0,
    }
    if row.lat is not None:
        data["_geo"] = {"lat": row.lat, "lng": row.lon}
    return ServiceDocument(id=row.id, data=data)


def documents_for(session: Session, ids: Iterable[uuid.UUID]) -> list[ServiceDocument]:
    """Documents of these services that are searchable (others: none)."""
    ids = list(ids)
    if not ids:
        return []
    rows = session.execute(text(_SQL.format(extra="AND s.id = ANY(CAST(:ids AS uuid[]))")), {"ids": ids})
    return [document(r) for r in rows]


def all_documents(session: Session, batch: int = 2000) -> Iterator[ServiceDocument]:
    """Every searchable service, streamed in id order."""
    last = uuid.UUID(int=0)
    while True:
        rows = session.execute(
            text(_SQL.format(extra="AND s.id > :last") + " LIMIT :n"), {"last": last, "n": batch}
        ).all()
        if not rows:
            return
        for row in rows:
            yield document(row)
        last = rows[-1].id
