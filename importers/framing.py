"""The frame of an import's batches (importers.load): the tables and columns an
import writes, the référentiel held in memory for a run, and a batch as it goes from
the preparation worker (importers.worker) to the writers (importers.writers): its
rows as the JSON text that the upsert reads."""

from __future__ import annotations

import copy
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import text
from sqlalchemy.orm import Session

from catalogue import places
from catalogue.schemas import ServiceInput, StructureInput
from geo import zones
from importers.readers import RawRecord
from importers.records import SERVICE, STRUCTURE
from importers.report import Report

PLACE_COLUMNS = [
    "commune", "code_postal", "code_insee", "adresse", "complement_adresse", "telephone",
    "courriel", "horaires_accueil",
]
COLUMNS = {
    STRUCTURE: [
        "nom", "description", "siret", "lien_source", "site_web", "accessibilite_lieu",
        "date_maj", "reseaux_porteurs", *PLACE_COLUMNS,
    ],
    SERVICE: [
        "nom", "description", "lien_source", "date_maj", "type", "thematiques", "frais",
        "frais_precisions", "publics", "publics_precisions", "conditions_acces", "modes_accueil",
        "zone_eligibilite", "contact_nom_prenom", "lien_mobilisation", "modes_mobilisation",
        "mobilisable_par", "mobilisation_precisions", "volume_horaire_hebdomadaire",
        "nombre_semaines", "message_temporaire", "message_debut", "message_fin", *PLACE_COLUMNS,
        "structure_id",
    ],
}
TABLES = {STRUCTURE: "structure", SERVICE: "service"}
# The columns whose statistics the duplicate searches' joins are planned with
# (analysing these alone takes half the time of the whole table).
ANALYZED = {
    STRUCTURE: ["id", "source", "source_id", "siret", "location", "status", "duplicate_of_id", "created_at"],
    SERVICE: ["id", "source", "source_id", "structure_id", "thematiques", "status", "duplicate_of_id",
              "created_at"],
}
SCHEMAS = {STRUCTURE: StructureInput, SERVICE: ServiceInput}


class Referentiel:
    """The référentiel in memory for one run: checking 100,000 records one query
    each would be the bottleneck. The zone rules are geo.zones.expand's."""

    def __init__(self, session: Session):
        rows = session.execute(
            text("SELECT code, type, nom, parent_code, codes_postaux, ST_X(centre::geometry) AS lon, "
                 "ST_Y(centre::geometry) AS lat FROM geo_commune")
        ).all()
        # The communes for the place rule (catalogue.places): names, postal codes,
        # former communes and arrondissements.
        self.places = places.Communes(rows)
        self.communes = self.places.nom
        # Every commune's centre (35,000 pairs): rows are placed while prepared.
        self._centres = {r.code: (r.lon, r.lat) for r in rows if r.lon is not None}
        self.zone_codes = zones.KnownCodes.load(session, self.communes)
        self._zones: dict[tuple[str, ...], list[str]] = {}
        # What the rows prepared with it depend on (importers.digests).
        self.fingerprint = hashlib.blake2b(orjson.dumps(
            [sorted(tuple(r) for r in rows), sorted(self.zone_codes.departements),
             sorted(self.zone_codes.epcis), sorted(self.zone_codes.regions.items())],
            default=str), digest_size=16).digest()

    def normalise_zone(self, codes: list[str]) -> list[str]:
        key = tuple(codes)
        if key in self._zones:
            return self._zones[key]
        result = zones.expand(codes, self.zone_codes)
        self._zones[key] = result
        return result

    def centre(self, code: str | None) -> tuple[float, float] | None:
        return self._centres.get(code or "")


@dataclass
class _Prepared:
    """One batch normalised and validated, ready to be written. The rows cross to
    the writer as the JSON text that the upsert reads (`payloads`, one array per
    kind; `keys` in the same order): passing text between processes costs far less
    than pickling the rows (42 µs a record, measured). The text stays orjson's UTF-8
    bytes up to the database (never decoded, pickled and encoded again: 30 ms a batch)."""

    count: int  # records read
    rows: dict[str, dict[tuple[str, str], dict]] | None = field(
        default_factory=lambda: {STRUCTURE: {}, SERVICE: {}}
    )
    payloads: dict[str, bytes] = field(default_factory=dict)
    keys: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # Rows still to be placed by the writer (a geocoder is configured: it reads the
    # database): their `_place` is in the payload.
    unplaced: bool = False
    # Rows with coordinates, whose commune the writer checks against the contours
    # (catalogue.places): (kind, index in the payload, (code, postal code, commune,
    # lon, lat)).
    located: list[tuple[str, int, tuple]] = field(default_factory=list)
    located_seconds: float = 0.0  # spent checking them (writer)
    # Their places as repaired by the writer: kind -> {index in the payload: (code,
    # postal code, commune)}, applied by the upsert (the payload is not parsed again).
    fixes: dict[str, dict[int, tuple]] = field(default_factory=dict)
    # Services whose structure the file has not given (so far): the raw record, to
    # quarantine the service if the catalogue has not the structure either.
    origin: dict[tuple[str, str, str], tuple[int, RawRecord, tuple[str, str]]] = field(default_factory=dict)
    quarantine: list[dict] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    seen: dict[str, set[tuple[str, str]]] = field(
        default_factory=lambda: {STRUCTURE: set(), SERVICE: set()}
    )
    rejected_inputs: set[int] = field(default_factory=set)
    seconds: float = 0.0  # spent preparing it
    created: dict[str, list[uuid.UUID]] = field(default_factory=lambda: {STRUCTURE: [], SERVICE: []})
    # Records recognised unchanged by their digest, not prepared (importers.digests):
    # their keys; and the digests of the rows prepared that may be kept.
    skipped: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: {STRUCTURE: [], SERVICE: []})
    digests: dict[str, dict[tuple[str, str], bytes]] = field(default_factory=lambda: {STRUCTURE: {}, SERVICE: {}})

    def attempt(self) -> _Prepared:
        """A copy for one attempt at writing it: what writing changes (quarantine,
        report, payloads) starts afresh if the attempt is retried."""
        return _Prepared(
            count=self.count, rows=None, payloads=dict(self.payloads), keys=self.keys,
            unplaced=self.unplaced, located=self.located, origin=self.origin, quarantine=list(self.quarantine),
            report=copy.deepcopy(self.report), seen=self.seen,
            rejected_inputs=set(self.rejected_inputs), seconds=self.seconds, skipped=self.skipped,
            digests={kind: dict(d) for kind, d in self.digests.items()},
        )


def _json_default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(type(value))


def dumps(value) -> str:
    """JSON text (orjson: dates, datetimes and UUIDs as ISO strings, NaN as null)."""
    return orjson.dumps(value, default=_json_default).decode()


def dumps_bytes(value) -> bytes:
    """As dumps, the UTF-8 bytes (a batch's payload)."""
    return orjson.dumps(value, default=_json_default)


def _as_is(payload: bytes) -> bytes:
    return payload


def jsonb(payload: bytes) -> Jsonb:
    """A payload's bytes as a jsonb parameter, sent as they are (no str in between)."""
    return Jsonb(payload, dumps=_as_is)
