"""The catalogue as data·inclusion v1 files (`offre export data-inclusion`,
web/commands/export.py): structures and services as .json, .ndjson and .csv."""

from __future__ import annotations

import json
from pathlib import Path

from catalogue import export
from catalogue.spreadsheet import SafeDictWriter


def _csv_value(value):
    # Lists of codes are written "a,b,c" (codes never hold a comma).
    if isinstance(value, list):
        return ",".join(value)
    return "" if value is None else value


def write_export(session, directory: Path, source: str, exclude_sources=(), include_imported=False) -> dict:
    """Write structures and services as .json, .ndjson and .csv in `directory`.
    Returns {kind: (written, rejected list)}."""
    directory.mkdir(parents=True, exist_ok=True)
    result = {}
    for kind, fields_ in (("structures", export.STRUCTURE_FIELDS), ("services", export.SERVICE_FIELDS)):
        records, rejected = [], []
        for page in export.iter_pages(session, kind, source, exclude_sources=exclude_sources,
                                      include_imported=include_imported):
            records.extend(page.records)
            rejected.extend(page.rejected)
        (directory / f"{kind}.json").write_text(
            json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        with open(directory / f"{kind}.ndjson", "w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        with open(directory / f"{kind}.csv", "w", encoding="utf-8", newline="") as out:
            writer = SafeDictWriter(out, fieldnames=list(fields_))
            writer.writeheader()
            for record in records:
                writer.writerow({k: _csv_value(v) for k, v in record.items()})
        result[kind] = (len(records), rejected)
    return result
