"""What a normaliser returns: catalogue input for one structure or one service,
with its provenance and raw payload. Normalisers are pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STRUCTURE = "structure"
SERVICE = "service"

# Fields of the catalogue that hold lists of codes (sorted, to compare runs).
LIST_FIELDS = (
    "thematiques", "publics", "modes_accueil", "zone_eligibilite", "modes_mobilisation",
    "mobilisable_par", "reseaux_porteurs",
)
FLOAT_FIELDS = ("longitude", "latitude", "volume_horaire_hebdomadaire")
INT_FIELDS = ("nombre_semaines", "frequence_maj_jours")


@dataclass
class Item:
    """One normalised record. `data` uses the catalogue's field names
    (catalogue.schemas); services name their structure by `structure_key`
    (source, source_id). `errors` set means the normaliser refused the record."""

    kind: str
    source: str
    source_id: str
    data: dict[str, Any]
    raw: dict | list | None
    structure_key: tuple[str, str] | None = None
    warnings: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] | None = None
    # Already validated by the national schema (data·inclusion v1 pydantic models):
    # the loader then checks only the catalogue's own extra rules.
    prevalidated: bool = False
    # The catalogue status the source asserts ("publie", "brouillon", "archive") and
    # the source's own words for it (stored as source_status): applied when the
    # record is created, and on a re-import when the source's words changed. None:
    # the source says nothing (created published, status never changed by imports).
    status: str | None = None
    source_status: str | None = None


def split_list(value: Any) -> list[str]:
    """A list from a cell: a JSON-ish list, or text separated by , ; | or new lines."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if not text:
        return []
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    parts = []
    for piece in text.replace("\n", ",").replace(";", ",").replace("|", ",").split(","):
        piece = piece.strip().strip("'\"").strip()
        if piece:
            parts.append(piece)
    return parts


def blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def to_float(value: Any) -> Any:
    value = blank_to_none(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", ".").replace(" ", ""))
        except ValueError:
            return value  # left for validation to name
    return value


def to_int(value: Any) -> Any:
    value = blank_to_none(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def pad_code(value: Any, width: int) -> Any:
    """A code whose leading zeros a spreadsheet dropped (2000 for 02000, 13 digits for
    a SIRET), as text; anything else as blank_to_none leaves it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            return str(value)
        value = str(int(value))
    value = blank_to_none(value)
    if isinstance(value, str) and value.isdigit() and width - 1 <= len(value) < width:
        return value.zfill(width)
    return value


def sorted_codes(values) -> list[str]:
    """Codes as a sorted list without duplicates (sets from the source have no order)."""
    return sorted({str(v) for v in values or []})
