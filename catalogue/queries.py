"""Read queries over the catalogue shared by the site, the API and the steering."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogue import vocabulary
from catalogue.models import Service, Status, Structure


def counts_by_spie_group(session: Session) -> list[tuple[vocabulary.SpieGroup, int]]:
    """Published services per SPIE thematic (a service counts once in each group
    that one of its thematiques belongs to), in rank order."""
    rows = session.execute(
        select(Service.id, func.unnest(Service.thematiques)).where(Service.status == Status.PUBLIE)
    ).all()
    seen: dict[str, set] = {g.code: set() for g in vocabulary.spie_groups()}
    for service_id, code in rows:
        group = vocabulary.spie_group_of(code)
        if group is not None:
            seen[group.code].add(service_id)
    return [(g, len(seen[g.code])) for g in vocabulary.spie_groups()]


def catalogue_totals(session: Session) -> dict[str, int]:
    """Counts of published structures and services, and of demonstration ones."""
    services = session.scalar(
        select(func.count()).select_from(Service).where(Service.status == Status.PUBLIE)
    )
    structures = session.scalar(
        select(func.count()).select_from(Structure).where(Structure.status == Status.PUBLIE)
    )
    demo = session.scalar(
        select(func.count())
        .select_from(Service)
        .where(Service.status == Status.PUBLIE, Service.source == DEMO_SOURCE)
    )
    return {"services": services or 0, "structures": structures or 0, "demo_services": demo or 0}


DEMO_SOURCE = "demo"
