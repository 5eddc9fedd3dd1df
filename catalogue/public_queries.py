"""Read queries of the public pages (and of the back-office and the CTO, which show
the same things): a published service with its structure, a structure's
published services, the points and the list of the public map.

The places these pages show (communes as typed, zones in words and as shapes)
are geo's: geo.communes and geo.zones, re-exported here so that a page reads
one module."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text
from sqlalchemy.orm import Session, selectinload

from catalogue import permissions, vocabulary
from catalogue.models import Service, Status, Structure
from geo.communes import CommuneChoice, commune, resolve_commune, search_communes
from geo.zones import eligibility_words, zone_geojson, zone_names

__all__ = [
    "CommuneChoice", "commune", "eligibility_words", "map_communes", "map_points", "map_popup", "points_of",
    "published_services_of", "resolve_commune", "search_communes", "service_point", "service_with_structure",
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


def _map_filter(group: str | None, departement: str | None) -> tuple[str, dict]:
    clauses = [permissions.PUBLIC_SERVICE_SQL, "s.location IS NOT NULL", "NOT s.duplicate_hidden"]
    params: dict = {}
    if group:
        clauses.append("s.thematiques && :thematiques")
        params["thematiques"] = vocabulary.expand_thematiques([group])
    if departement:
        clauses.append("c.departement_code = :dep")
        params["dep"] = departement
    return " AND ".join(clauses), params


def map_points(session: Session, group: str | None = None, departement: str | None = None) -> list[list]:
    """The published, located services not hidden as duplicates as [lon, lat, id-hex] rows,
    coordinates rounded to 5 decimals (about 1 m)."""
    where, params = _map_filter(group, departement)
    join = "LEFT JOIN geo_commune c ON c.code = s.code_insee" if departement else ""
    rows = session.execute(
        text(
            "SELECT round(ST_X(s.location::geometry)::numeric, 5), "
            "round(ST_Y(s.location::geometry)::numeric, 5), replace(s.id::text, '-', '') "
            f"FROM service s JOIN structure st ON st.id = s.structure_id {join} WHERE {where}"
        ),
        params,
    )
    return [[float(x), float(y), i] for x, y, i in rows]


def map_communes(session: Session, group: str | None = None, departement: str | None = None) -> list[dict]:
    """The list alternative of the map: communes with their number of offers."""
    where, params = _map_filter(group, departement)
    rows = session.execute(
        text(
            "SELECT c.code, c.nom, count(*) FROM service s JOIN structure st ON st.id = s.structure_id "
            "JOIN geo_commune c ON c.code = s.code_insee "
            f"WHERE {where} GROUP BY c.code, c.nom ORDER BY c.nom"
        ),
        params,
    )
    return [{"code": code, "nom": nom, "services": n} for code, nom, n in rows]


def map_popup(session: Session, service_id: uuid.UUID) -> dict | None:
    row = session.execute(
        select(Service.id, Service.nom, Service.commune, Service.thematiques, Structure.nom)
        .join(Structure, Structure.id == Service.structure_id)
        .where(Service.id == service_id, permissions.public_service())
    ).first()
    if row is None:
        return None
    labels = vocabulary.thematiques()
    return {
        "id": str(row[0]),
        "nom": row[1],
        "commune": row[2],
        "thematiques": [labels.get(t, t) for t in row[3]],
        "structure": row[4],
    }
