"""Writes to the catalogue: validated, located, audited (by the database triggers,
with the actor named by catalogue.db.set_actor), never deleted."""

from __future__ import annotations

import uuid
from typing import Any

from marshmallow import ValidationError as MarshmallowError
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from catalogue import places
from catalogue.errors import ValidationError
from catalogue.models import LocationPrecision, Service, Status, Structure
from catalogue.schemas import ServiceInput, StructureInput
from geo.errors import GeoError, UnknownCode
from geo.zones import normalise_zone


def _load(schema, data: dict, partial: bool = False) -> dict:
    try:
        return schema.load(data, partial=partial)
    except MarshmallowError as exc:
        raise ValidationError(
            {k: (v if isinstance(v, list) else [str(v)]) for k, v in exc.messages.items()}
        ) from exc


def _check_place(session: Session, data: dict, errors: dict, repairs: list[str] | None) -> None:
    """The place rule (catalogue.places): the commune code, postal code, commune name
    and point agree, repaired where they do not (each repair described in
    `repairs`); an error when a commune code was given and nothing places it."""
    if not any(data.get(k) for k in places.FIELDS):
        return
    outcome = places.resolve(session, data)
    if outcome.error:
        errors.setdefault("code_insee", []).append(outcome.error)
        return
    for key, value in (("code_insee", outcome.code_insee), ("code_postal", outcome.code_postal),
                       ("commune", outcome.commune)):
        if key in data or value is not None:
            data[key] = value
    if repairs is not None:
        repairs.extend(outcome.repairs)


def validate_structure(session: Session, data: dict, partial: bool = False,
                       repairs: list[str] | None = None) -> dict:
    clean = _load(StructureInput(), data, partial)
    errors: dict[str, list[str]] = {}
    _check_place(session, clean, errors, repairs)
    if errors:
        raise ValidationError(errors)
    return clean


def validate_service(session: Session, data: dict, partial: bool = False,
                     repairs: list[str] | None = None) -> dict:
    """Clean input of a service, or ValidationError naming each field and reason.
    The place's repairs (catalogue.places) are added to `repairs`."""
    clean = _load(ServiceInput(), data, partial)
    errors: dict[str, list[str]] = {}
    _check_place(session, clean, errors, repairs)
    if "zone_eligibilite" in clean:
        try:
            clean["zone_eligibilite"] = normalise_zone(session, clean["zone_eligibilite"])
        except UnknownCode as exc:
            errors.setdefault("zone_eligibilite", []).append(f"{exc.kind} inconnu(e) : {exc.code}")
        except GeoError as exc:
            errors.setdefault("zone_eligibilite", []).append(str(exc))
    if errors:
        raise ValidationError(errors)
    return clean


def _apply(session: Session, record, clean: dict[str, Any]) -> None:
    lon = clean.pop("longitude", None)
    lat = clean.pop("latitude", None)
    for key, value in clean.items():
        setattr(record, key, value)
    if lon is not None and lat is not None:
        record.location = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
        record.location_precision = LocationPrecision.SOURCE
    elif record.code_insee and (
        record.location is None or record.location_precision == LocationPrecision.COMMUNE
    ):
        centre = session.scalar(
            text("SELECT ST_AsEWKT(centre) FROM geo_commune WHERE code = :c"),
            {"c": record.code_insee},
        )
        if centre:
            record.location = centre
            record.location_precision = LocationPrecision.COMMUNE


def create_structure(
    session: Session, data: dict, *, source: str = "local", source_id: str | None = None,
    status: Status = Status.PUBLIE, raw: dict | None = None, repairs: list[str] | None = None,
) -> Structure:
    clean = validate_structure(session, data, repairs=repairs)
    structure = Structure(
        id=uuid.uuid4(), source=source, source_id=source_id or str(uuid.uuid4()), status=status, raw=raw
    )
    _apply(session, structure, clean)
    session.add(structure)
    session.flush()
    return structure


def create_service(
    session: Session, structure: Structure, data: dict, *, source: str = "local",
    source_id: str | None = None, status: Status = Status.PUBLIE, raw: dict | None = None,
    repairs: list[str] | None = None,
) -> Service:
    clean = validate_service(session, data, repairs=repairs)
    service = Service(
        id=uuid.uuid4(), structure_id=structure.id, source=source,
        source_id=source_id or str(uuid.uuid4()), status=status, raw=raw,
    )
    _apply(session, service, clean)
    session.add(service)
    session.flush()
    return service


def _written(data: dict, clean: dict) -> dict:
    """What an update writes: the fields given, and those the place rule set."""
    return {k: v for k, v in clean.items() if k in data or k in places.FIELDS}


def update_service(session: Session, service: Service, data: dict,
                   repairs: list[str] | None = None) -> Service:
    clean = validate_service(session, data, partial=True, repairs=repairs)
    _apply(session, service, _written(data, clean))
    session.flush()
    return service


def update_structure(session: Session, structure: Structure, data: dict,
                     repairs: list[str] | None = None) -> Structure:
    clean = validate_structure(session, data, partial=True, repairs=repairs)
    _apply(session, structure, _written(data, clean))
    session.flush()
    return structure


def archive(session: Session, record: Service | Structure) -> None:
    """Withdraw a record: it stays, with status `archive`, and its history."""
    record.status = Status.ARCHIVE
    session.flush()


def restore(session: Session, record: Service | Structure, status: Status = Status.PUBLIE) -> None:
    record.status = status
    session.flush()


def history(session: Session, record: Service | Structure):
    """The audit rows of a record, oldest first."""
    from catalogue.models import AuditLog

    return session.scalars(
        select(AuditLog)
        .where(AuditLog.table_name == record.__tablename__, AuditLog.record_id == record.id)
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
