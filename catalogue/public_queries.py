"""Read queries of the public pages (and of the back-office and the CTO, which show
the same things): a published service with its structure, a structure's
published services. The public map's are catalogue/map_queries.py's.

The places these pages show (communes as typed, zones in words and as shapes)
are geo's: geo.communes and geo.zones, re-exported here so that a page reads
one module."""

from __future__ import annotations

import uuid

from geoalchemy2.shape import to_shape
from sqlalchemy import select, text
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from catalogue import permissions
from catalogue.models import Service, Status, Structure
from geo.communes import CommuneChoice, commune, resolve_commune, search_communes
from geo.zones import eligibility_words, zone_geojson, zone_names

__all__ = [
    "CommuneChoice", "commune", "eligibility_words", "places_of", "points_of",
    "published_services_of", "services_in_order", "resolve_commune", "search_communes", "service_point", "service_with_structure",
    "structure_with_services", "zone_geojson", "zone_names",
]


def service_with_structure(session: Session, service_id: uuid.UUID) -> Service | None:
    return session.scalars(
        select(Service)
        .join(Structure, Structure.id == Service.structure_id)
        .options(selectinload(Service.structure))
        .where(Service.id == service_id, permissions.public_service())
    ).first()


def service_point(session: Session, service_id: uuid.UUID) -> tuple[float, float] | None:
    return points_of(session, [service_id]).get(service_id)


def points_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[float, float]]:
    """(lon, lat) of the services that have a place."""
    if not ids:
        return {}
    rows = session.execute(
        text(
            "SELECT id, ST_X(location::geometry), ST_Y(location::geometry) FROM service "
            "WHERE id = ANY(:ids) AND location IS NOT NULL"
        ),
        {"ids": list(ids)},
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def places_of(services: list[Service]) -> dict[uuid.UUID, tuple[float, float]]:
    """points_of for services already loaded (their `location`): no query."""
    return {s.id: (p.x, p.y) for s in services if s.location is not None for p in [to_shape(s.location)]}


def services_in_order(session: Session, ids: list[uuid.UUID]) -> list[Service]:
    """The services of `ids` with their structure, in that order, in one query
    (the sources' raw records, not shown, left out)."""
    if not ids:
        return []
    rows = session.scalars(
        select(Service).where(Service.id.in_(ids))
        .options(defer(Service.raw), joinedload(Service.structure).defer(Structure.raw))
    ).all()
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def structure_with_services(session: Session, structure_id: uuid.UUID) -> Structure | None:
    structure = session.scalars(
        select(Structure).where(Structure.id == structure_id, Structure.status == Status.PUBLIE)
    ).first()
    return structure


def published_services_of(session: Session, structure_id: uuid.UUID) -> list[Service]:
    return list(
        session.scalars(
            select(Service)
            .where(Service.structure_id == structure_id, Service.status == Status.PUBLIE)
            .order_by(Service.nom)
        )
    )
