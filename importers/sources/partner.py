"""A partner's own CSV/XLSX, read through a YAML column mapping (column → field)
with value maps from the partner's plain-French words to codes. One row is one
offer; the structure columns (`structure_id`, `structure_nom`, `structure_siret`)
name its structure. The built-in mapping (partner_mapping.yaml) reads the template
downloadable from the site."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml

from catalogue import vocabulary
from geo.names import fold
from importers.errors import MappingError
from importers.readers import RawRecord, normalise_header
from importers.records import (
    FLOAT_FIELDS,
    INT_FIELDS,
    LIST_FIELDS,
    SERVICE,
    STRUCTURE,
    Item,
    blank_to_none,
    pad_code,
    split_list,
    to_float,
    to_int,
)

SERVICE_FIELDS = {
    "id", "nom", "description", "lien_source", "date_maj", "type", "thematiques", "frais",
    "frais_precisions", "publics", "publics_precisions", "conditions_acces", "modes_accueil",
    "zone_eligibilite", "contact_nom_prenom", "lien_mobilisation", "modes_mobilisation",
    "mobilisable_par", "mobilisation_precisions", "volume_horaire_hebdomadaire",
    "nombre_semaines", "commune", "code_postal", "code_insee", "adresse", "complement_adresse",
    "longitude", "latitude", "telephone", "courriel", "horaires_accueil",
    "structure_id", "structure_nom", "structure_siret",
}
CODED = {
    "type": vocabulary.types, "thematiques": vocabulary.thematiques, "frais": vocabulary.frais,
    "publics": vocabulary.publics, "modes_accueil": vocabulary.modes_accueil,
    "modes_mobilisation": vocabulary.modes_mobilisation,
    "mobilisable_par": vocabulary.mobilisable_par,
}


@cache
def default_mapping_text() -> str:
    return resources.files("importers").joinpath("partner_mapping.yaml").read_text(encoding="utf-8")


def parse_mapping(text: str) -> dict:
    """The mapping as a plain dict (stored with the run for retries); MappingError
    names what is wrong."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"correspondance YAML illisible : {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("colonnes"), dict):
        raise MappingError("correspondance YAML : la clé « colonnes » (colonne → champ) est obligatoire")
    source = str(raw.get("source") or "").strip()
    if not re.match(r"^[a-z0-9][a-z0-9_.:-]{1,60}$", source):
        raise MappingError(
            "correspondance YAML : « source » est obligatoire (minuscules, chiffres, tirets ; ex. mission-locale-laon)"
        )
    columns = {}
    for column, target in raw["colonnes"].items():
        if target not in SERVICE_FIELDS:
            raise MappingError(f"correspondance YAML : champ inconnu « {target} » pour la colonne « {column} »")
        columns[normalise_header(column)] = target
    for needed in ("id", "nom", "structure_id"):
        if needed not in columns.values():
            raise MappingError(f"correspondance YAML : aucune colonne n'est associée au champ « {needed} »")
    values = {}
    for target, table in (raw.get("valeurs") or {}).items():
        if not isinstance(table, dict):
            raise MappingError(f"correspondance YAML : « valeurs.{target} » doit associer des mots à des codes")
        values[target] = {fold(k): str(v) for k, v in table.items()}
    return {"source": source, "colonnes": columns, "valeurs": values}


@cache
def _labels(target: str) -> dict[str, str]:
    table = CODED[target]()
    out = {fold(label): code for code, label in table.items()}
    out.update({fold(code): code for code in table})
    return out


def _code(target: str, value: str, values: dict) -> str:
    key = fold(value)
    if key in values.get(target, {}):
        return values[target][key]
    if target in CODED:
        return _labels(target).get(key, value)
    return value


def normalise(record: RawRecord, options: dict | None = None) -> list[Item]:
    mapping = (options or {}).get("mapping")
    if not mapping:
        raise MappingError("aucune correspondance de colonnes")
    source = mapping["source"]
    values = mapping.get("valeurs", {})
    row: dict = {}
    for column, cell in record.data.items():
        target = mapping["colonnes"].get(column)
        if target is None:
            continue
        if target in LIST_FIELDS:
            row[target] = [_code(target, v, values) for v in split_list(cell)]
        elif target in FLOAT_FIELDS:
            row[target] = to_float(cell)
        elif target in INT_FIELDS:
            row[target] = to_int(cell)
        elif target in CODED:
            row[target] = _code(target, cell, values) if blank_to_none(cell) else None
        elif hasattr(cell, "isoformat"):
            row[target] = cell.isoformat()[:10]
        elif target in ("code_postal", "code_insee", "structure_siret"):
            row[target] = pad_code(cell, 14 if target == "structure_siret" else 5)
        else:
            row[target] = blank_to_none(str(cell)) if cell is not None else None
    service_id = str(row.pop("id", None) or "")
    structure_id = str(row.pop("structure_id", None) or "")
    # The structure is named on each row of its offers; the place is the offer's.
    structure = Item(
        kind=STRUCTURE, source=source, source_id=structure_id, raw=record.data,
        data={"nom": row.pop("structure_nom", None), "siret": row.pop("structure_siret", None)},
    )
    service = Item(kind=SERVICE, source=source, source_id=service_id, raw=record.data, data=row,
                   structure_key=(source, structure_id))
    return [structure, service]
