"""The catalogue as data·inclusion v1 records, for the national aggregation.

The département is one producer for data·inclusion: every record carries the same
`source` (`cd<code>` by default, like data·inclusion's own `cd35`, `cd72`…) and its
`id` is `<source>--<catalogue id>`: our ids never change and records are never
deleted, so data·inclusion can follow a record across exports. `structure_id` of a
service is built the same way from its structure.

Only published records are exported (a service only with its published structure).
Every record is checked with `data_inclusion.schema.v1.Structure`/`Service`; a record
that does not validate is left out and reported with its reasons, never sent broken.

Only what is ours, by default: records written here (the back-office, `local`; the
demo), through the partners' API (`api-…`) or imported from a partner's own file
(the sources of table `own_source`). The others came from another base (Soliguide,
DORA, data·inclusion…): sent to the national base under the département's name they
would come back as duplicates of their own source. With `include_imported` they are
added under their own `source` and `id`, crediting their producer. A structure that
is not ours but holds one of our services is exported with it, under our name
(data·inclusion wants each service's structure in the same source).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import pydantic
from data_inclusion.schema import v1
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from catalogue.errors import ValidationError
from catalogue.models import LocationPrecision, OwnSource, Service, Status, Structure
from catalogue.queries import DEMO_SOURCE
from catalogue.takeover import LOCAL_SOURCE
from catalogue.tokens import API_SOURCE_PREFIX

STRUCTURE_FIELDS = tuple(v1.Structure.model_fields)
SERVICE_FIELDS = tuple(v1.Service.model_fields)
# Lists of codes: data·inclusion wants them absent rather than empty.
_LISTS = {
    "thematiques", "publics", "modes_accueil", "zone_eligibilite", "modes_mobilisation",
    "mobilisable_par", "reseaux_porteurs",
}
MAX_PAGE_SIZE = 1000


def default_source(departement_code: str) -> str:
    return f"cd{departement_code.lower()}"


def record_id(source: str, catalogue_id: uuid.UUID) -> str:
    return f"{source}--{catalogue_id}"


def is_own_source(source: str, registered: set[str]) -> bool:
    """Whether records of `source` are this service's own (`registered`: the names of
    table own_source, see own_sources)."""
    return source in (LOCAL_SOURCE, DEMO_SOURCE) or source.startswith(API_SOURCE_PREFIX) or source in registered


def own_sources(session: Session) -> set[str]:
    return set(session.scalars(select(OwnSource.name)))


def _own(model):
    """SQL: the record's source is ours (is_own_source)."""
    return or_(model.source.in_((LOCAL_SOURCE, DEMO_SOURCE)), model.source.startswith(API_SOURCE_PREFIX),
               model.source.in_(select(OwnSource.name)))


def _holds_own_service():
    """SQL: the structure holds a published service of ours."""
    return exists().where(Service.structure_id == Structure.id, Service.status == Status.PUBLIE, _own(Service))


def _with_own_services(session: Session, structure_ids) -> set[uuid.UUID]:
    """Among these structures, those that hold a published service of ours."""
    if not structure_ids:
        return set()
    return set(session.scalars(
        select(Service.structure_id).where(Service.structure_id.in_(structure_ids),
                                           Service.status == Status.PUBLIE, _own(Service)).distinct()
    ))


def _identity(record, producer: str, ours: bool) -> tuple[str, str]:
    """(source, id) under which a record is exported: ours under the producer's name
    and our id; another base's under its own source and id."""
    return (producer, record_id(producer, record.id)) if ours else (record.source, record.source_id)


def _clean(value):
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _date_maj(record: Structure | Service, today: date) -> date:
    """The source's date if plausible, else the date of our last change."""
    if record.date_maj and date(2000, 1, 1) <= record.date_maj <= today:
        return record.date_maj
    changed = record.updated_at or record.created_at
    return min(changed.date(), today) if changed else today


def _common(record, source: str, lon, lat, today: date, fields_: tuple[str, ...],
            identity: tuple[str, str] | None = None) -> dict:
    out: dict = {}
    for name in fields_:
        if name in ("source", "id", "structure_id", "date_maj", "longitude", "latitude"):
            continue
        value = _clean(getattr(record, name, None))
        if name in _LISTS:
            value = sorted(set(value)) if value else None
        out[name] = value
    out["source"], out["id"] = identity or (source, record_id(source, record.id))
    out["date_maj"] = _date_maj(record, today).isoformat()
    # A commune centre is only an approximation: data·inclusion geocodes by itself.
    precise = record.location_precision in (LocationPrecision.SOURCE, LocationPrecision.ADRESSE)
    out["longitude"] = lon if precise else None
    out["latitude"] = lat if precise else None
    if out.get("description") and len(out["description"]) < 5:
        out["description"] = None
    return out


def structure_record(structure: Structure, source: str, lon=None, lat=None,
                     today: date | None = None, identity: tuple[str, str] | None = None) -> dict:
    """A structure as a data·inclusion v1 dict (JSON-ready), in the schema's field order;
    `identity`: its (source, id) when not ours (see _identity)."""
    out = _common(structure, source, lon, lat, today or date.today(), STRUCTURE_FIELDS, identity)
    return {name: out.get(name) for name in STRUCTURE_FIELDS}


def service_record(service: Service, source: str, lon=None, lat=None,
                   today: date | None = None, identity: tuple[str, str] | None = None,
                   structure_id: str | None = None) -> dict:
    """A service as a data·inclusion v1 dict (JSON-ready), in the schema's field order;
    `identity` and `structure_id` when not ours (see _identity)."""
    out = _common(service, source, lon, lat, today or date.today(), SERVICE_FIELDS, identity)
    out["structure_id"] = structure_id or record_id(source, service.structure_id)
    if out.get("volume_horaire_hebdomadaire") is not None and out["volume_horaire_hebdomadaire"] < 0:
        out["volume_horaire_hebdomadaire"] = None
    if out.get("nombre_semaines") is not None and out["nombre_semaines"] < 1:
        out["nombre_semaines"] = None
    return {name: out.get(name) for name in SERVICE_FIELDS}


def problems(model: type[pydantic.BaseModel], record: dict) -> dict[str, list[str]]:
    """What data·inclusion's model refuses in the record: field -> reasons (empty: valid)."""
    try:
        model.model_validate(record)
    except pydantic.ValidationError as exc:
        out: dict[str, list[str]] = {}
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "enregistrement"
            out.setdefault(name, []).append(err["msg"])
        return out
    return {}


@dataclass
class Rejected:
    kind: str  # "structure" | "service"
    catalogue_id: uuid.UUID
    nom: str
    reasons: dict[str, list[str]]


@dataclass
class Page:
    """One page of an export: the valid records, the ones left out, the next cursor."""

    records: list[dict]
    rejected: list[Rejected] = field(default_factory=list)
    next_cursor: str | None = None


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    """Raises ValidationError naming `cursor` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError({"cursor": ["curseur invalide (reprenez celui de la page précédente)"]}) from exc


def _coords(model):
    return (func.ST_X(func.geometry(model.location)), func.ST_Y(func.geometry(model.location)))


def structures_page(session: Session, source: str, *, after: uuid.UUID | None = None,
                    size: int = 500, exclude_sources: tuple[str, ...] = (),
                    include_imported: bool = False) -> Page:
    """Published structures in id order after `after` (keyset: stable under edits):
    ours and those holding a service of ours; with `include_imported`, all of them."""
    stmt = select(Structure, *_coords(Structure)).where(Structure.status == Status.PUBLIE)
    if exclude_sources:
        stmt = stmt.where(Structure.source.not_in(exclude_sources))
    if not include_imported:
        stmt = stmt.where(or_(_own(Structure), _holds_own_service()))
    if after is not None:
        stmt = stmt.where(Structure.id > after)
    rows = session.execute(stmt.order_by(Structure.id).limit(size)).all()
    page = Page(records=[])
    today = date.today()
    registered = own_sources(session)
    holding = _with_own_services(session, [r[0].id for r in rows]) if include_imported else set()
    for structure, lon, lat in rows:
        ours = not include_imported or is_own_source(structure.source, registered) or structure.id in holding
        record = structure_record(structure, source, lon, lat, today, _identity(structure, source, ours))
        reasons = problems(v1.Structure, record)
        if reasons:
            page.rejected.append(Rejected("structure", structure.id, structure.nom, reasons))
        else:
            page.records.append(record)
    if len(rows) == size:
        page.next_cursor = encode_cursor(rows[-1][0].id)
    return page


def services_page(session: Session, source: str, *, after: uuid.UUID | None = None,
                  size: int = 500, exclude_sources: tuple[str, ...] = (),
                  include_imported: bool = False) -> Page:
    """Published services of published structures in id order after `after`: ours;
    with `include_imported`, all of them. A service whose structure is left out
    (invalid) is left out too."""
    stmt = (
        select(Service, Structure, *_coords(Service))
        .join(Structure, Service.structure_id == Structure.id)
        .where(Service.status == Status.PUBLIE, Structure.status == Status.PUBLIE)
    )
    if exclude_sources:
        stmt = stmt.where(Service.source.not_in(exclude_sources), Structure.source.not_in(exclude_sources))
    if not include_imported:
        stmt = stmt.where(_own(Service))
    if after is not None:
        stmt = stmt.where(Service.id > after)
    rows = session.execute(stmt.order_by(Service.id).limit(size)).all()
    page = Page(records=[])
    today = date.today()
    registered = own_sources(session)
    holding = _with_own_services(session, list({r[1].id for r in rows})) if include_imported else set()
    structure_ok: dict[uuid.UUID, bool] = {}
    for service, structure, lon, lat in rows:
        structure_ours = (not include_imported or is_own_source(structure.source, registered)
                          or structure.id in holding)
        structure_identity = _identity(structure, source, structure_ours)
        if structure.id not in structure_ok:
            structure_ok[structure.id] = not problems(
                v1.Structure, structure_record(structure, source, None, None, today, structure_identity)
            )
        ours = not include_imported or is_own_source(service.source, registered)
        identity = _identity(service, source, ours)
        record = service_record(service, source, lon, lat, today, identity, structure_identity[1])
        reasons = problems(v1.Service, record)
        if not structure_ok[structure.id]:
            reasons.setdefault("structure_id", []).append(
                "la structure ne peut pas être exportée (elle ne respecte pas le schéma)"
            )
        if identity[0] != structure_identity[0]:
            reasons.setdefault("source", []).append(
                f"offre de la source {identity[0]} dans une structure exportée sous la source "
                f"{structure_identity[0]} : data·inclusion les veut dans la même source"
            )
        if reasons:
            page.rejected.append(Rejected("service", service.id, service.nom, reasons))
        else:
            page.records.append(record)
    if len(rows) == size:
        page.next_cursor = encode_cursor(rows[-1][0].id)
    return page


def iter_pages(session: Session, kind: str, source: str, *, size: int = 500,
               exclude_sources: tuple[str, ...] = (), include_imported: bool = False) -> Iterator[Page]:
    """Every page of an export (`kind`: "structures" or "services")."""
    fetch = structures_page if kind == "structures" else services_page
    after = None
    while True:
        page = fetch(session, source, after=after, size=size, exclude_sources=exclude_sources,
                     include_imported=include_imported)
        yield page
        if page.next_cursor is None:
            return
        after = decode_cursor(page.next_cursor)
