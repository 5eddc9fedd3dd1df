"""The catalogue rows of a page of hits (engines return ids; pages and the API
load what a person sees from the catalogue, whichever engine answered)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, defer, selectinload

from catalogue.models import Service, Structure
from search.contract import Hit


def load_services(session: Session, hits: tuple[Hit, ...] | list[Hit]) -> list[Service]:
    """The catalogue rows of the hits, in hit order, structures loaded."""
    ids = [h.id for h in hits]
    if not ids:
        return []
    # The source's raw record (1 KB of JSON a row) is not shown: loaded only if read.
    rows = session.scalars(
        select(Service).where(Service.id.in_(ids))
        .options(defer(Service.raw), selectinload(Service.structure).defer(Structure.raw))
    ).all()
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in ids if i in by_id]
