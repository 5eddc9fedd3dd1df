"""data·inclusion v1: structures and services, validated with the national
`data-inclusion-schema` pydantic models. Each record keeps its own `source` and
`id` as provenance."""

from __future__ import annotations

import functools
import importlib
from typing import Any

import pydantic
import pydantic.networks
from data_inclusion.schema import v1

from importers.readers import RawRecord
from importers.records import (
    FLOAT_FIELDS,
    INT_FIELDS,
    LIST_FIELDS,
    SERVICE,
    STRUCTURE,
    Item,
    blank_to_none,
    pad_code,
    sorted_codes,
    split_list,
    to_float,
    to_int,
)

_PROVENANCE = ("source", "id", "structure_id")

# The models' e-mail fields (pydantic's EmailStr) call pydantic.networks.validate_email,
# a pure function of the address that took a fifth of an import's preparation
# (email_validator: 0.4 ms an address); a structure's address repeats on its services.
# Its answers are kept (a refused address raises, and is not kept): the same result.
if not hasattr(pydantic.networks.validate_email, "cache_info"):
    pydantic.networks.validate_email = functools.lru_cache(maxsize=50_000)(pydantic.networks.validate_email)


def _cached_domain_check(check):
    """email_validator's check of an address's domain (IDNA rules, a character at a
    time: most of an uncached address's cost), kept by domain: pure, and the domains
    repeat (a town hall's, a network's, the webmails) where the addresses do not. A
    refused domain raises, and is not kept; each call gets its own copy of the answer."""
    cached = functools.lru_cache(maxsize=20_000)(check)

    def validate_email_domain_name(domain, test_environment=False, globally_deliverable=True):
        return dict(cached(domain, test_environment, globally_deliverable))

    validate_email_domain_name.cached = cached
    return validate_email_domain_name


# (The module, not the function of that name that the package exports.)
_checker = importlib.import_module("email_validator.validate_email")
if not hasattr(_checker.validate_email_domain_name, "cached"):
    _checker.validate_email_domain_name = _cached_domain_check(_checker.validate_email_domain_name)

_PYDANTIC_FR = {
    "missing": "champ obligatoire",
    "string_too_short": "trop court",
    "string_too_long": "trop long",
    "string_pattern_mismatch": "format invalide",
    "enum": "valeur inconnue",
    "date_from_datetime_parsing": "date invalide (AAAA-MM-JJ)",
    "date_parsing": "date invalide (AAAA-MM-JJ)",
    "date_type": "date invalide (AAAA-MM-JJ)",
    "url_parsing": "adresse web invalide (https://…)",
    "url_scheme": "adresse web invalide (https://…)",
    "value_error": "valeur invalide",
    "float_parsing": "nombre attendu",
    "int_parsing": "nombre entier attendu",
    "too_short": "ne peut pas être vide",
    "list_type": "une liste est attendue",
    "set_type": "une liste est attendue",
    "string_type": "texte attendu",
}


def french_errors(exc: pydantic.ValidationError) -> dict[str, list[str]]:
    """Pydantic's errors as {field: [French reason]}."""
    errors: dict[str, list[str]] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        name = loc[0] if loc else "enregistrement"
        reason = _PYDANTIC_FR.get(err["type"])
        if err["type"] == "value_error" and err.get("ctx", {}).get("error"):
            reason = str(err["ctx"]["error"])
        if reason is None:
            reason = err["msg"]
        value = err.get("input")
        if len(loc) >= 2 and name in ("zone_eligibilite",) and isinstance(value, str):
            reason = f"code de zone invalide : {value}"
        elif err["type"] in ("enum", "string_pattern_mismatch") and isinstance(value, str):
            reason = f"{reason} : {value}"
        errors.setdefault(name, [])
        if reason not in errors[name]:
            errors[name].append(reason)
    return errors


def kind_of(record: RawRecord) -> str:
    if record.kind:
        return record.kind
    return SERVICE if "structure_id" in record.data else STRUCTURE


# Fields with a conversion of their own in _clean; any other text is only stripped.
_CONVERTED = frozenset((*LIST_FIELDS, *FLOAT_FIELDS, *INT_FIELDS, "date_maj", "code_postal",
                        "code_insee", "siret"))


def _clean(data: dict) -> dict:
    """Cells of CSV/XLSX (text) turned into the types of JSON."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _CONVERTED:
            # blank_to_none, inlined (called for every field of every record).
            if isinstance(value, str):
                value = value.strip() or None
            out[key] = value
        elif key == "zone_eligibilite":
            # A code typed as a number lost its leading zero: 2 for 02, 2408 for 02408.
            out[key] = [c.zfill(2) if len(c) == 1 and c.isdigit() else c.zfill(5) if len(c) == 4 and c.isdigit()
                        else c for c in split_list(value)] or None
        elif key in LIST_FIELDS:
            out[key] = split_list(value) or None
        elif key in FLOAT_FIELDS:
            out[key] = to_float(value)
        elif key in INT_FIELDS:
            out[key] = to_int(value)
        elif hasattr(value, "isoformat") and key == "date_maj":
            out[key] = value.isoformat()[:10]
        elif key in ("code_postal", "code_insee", "siret"):
            out[key] = pad_code(value, 14 if key == "siret" else 5)
        else:
            out[key] = blank_to_none(value)
    return out


def to_catalogue(model: pydantic.BaseModel) -> dict:
    data = model.model_dump(mode="json", exclude=set(_PROVENANCE))
    for key in LIST_FIELDS:
        if key in data:
            data[key] = sorted_codes(data[key]) if key != "zone_eligibilite" else list(data[key] or [])
    return data


# Options of a run: the producer's name (--source) and the file's date, given to the
# records of the national template, which has neither column (the producer is the source).
DEFAULT_SOURCE = "default_source"
DEFAULT_DATE = "default_date_maj"


def normalise(record: RawRecord, options: dict | None = None) -> list[Item]:
    kind = kind_of(record)
    raw = record.data
    cleaned = _clean(raw)
    options = options or {}
    warnings = []
    source = cleaned.get("source")
    if not source and options.get(DEFAULT_SOURCE):
        source = cleaned["source"] = options[DEFAULT_SOURCE]
        warnings.append(f"source absente : « {source} » (option --source) utilisée")
    if not cleaned.get("date_maj") and options.get(DEFAULT_DATE):
        cleaned["date_maj"] = options[DEFAULT_DATE]
        warnings.append(f"date_maj absente : date du fichier ({options[DEFAULT_DATE]}) utilisée")
    source = str(source or "")
    source_id = str(cleaned.get("id") or "")
    model = v1.Service if kind == SERVICE else v1.Structure
    item = Item(kind=kind, source=source, source_id=source_id, data={}, raw=raw, warnings=warnings)
    if kind == SERVICE:
        item.structure_key = (source, str(cleaned.get("structure_id") or ""))
    try:
        item.data = to_catalogue(model.model_validate(cleaned))
        item.prevalidated = True
    except pydantic.ValidationError as exc:
        item.errors = french_errors(exc)
    return [item]
