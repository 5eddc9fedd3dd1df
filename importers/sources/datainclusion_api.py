"""Records of the national data·inclusion API (importers.national fetches them):
data·inclusion v1 structures and services, each kept under its producer.

The national base names a record `<producer>--<producer's id>` (`dora--1a2b`,
`soliguide--4567`). We keep the producer as `source` and the producer's own id as
`source_id`, as the producer's direct import does, so that a record the service
also receives from its producer (a Soliguide or DORA file) is the same record, not
a duplicate. The raw payload keeps the national id and the channel it came by
(`_canal`, `_id_national`)."""

from __future__ import annotations

from importers.readers import RawRecord
from importers.records import SERVICE, Item
from importers.sources import datainclusion, soliguide

CHANNEL = "data-inclusion-api"
# Fields of the API's answers that are not data·inclusion v1 (its own quality score,
# its duplicate clusters, a structure's services in the detail endpoint).
API_ONLY = ("score_qualite", "adresse_certifiee", "doublons", "services", "extra")


def producer_id(source: str, national_id: str) -> str:
    """The producer's own id from the national one (`dora--1a2b` → `1a2b`)."""
    prefix = f"{source}--"
    return national_id[len(prefix):] if source and national_id.startswith(prefix) else national_id


def normalise(record: RawRecord, options: dict | None = None) -> list[Item]:
    data = {k: v for k, v in record.data.items() if k not in API_ONLY}
    items = datainclusion.normalise(RawRecord(data, kind=record.kind, line=record.line), options)
    for item in items:
        national = str(data.get("id") or "")
        item.source_id = producer_id(item.source, national)
        if item.kind == SERVICE:
            structure = producer_id(item.source, str(data.get("structure_id") or ""))
            item.structure_key = (item.source, structure)
            if item.source == soliguide.SOURCE:
                item.source_id = soliguide.service_source_id(structure, item.source_id)
        item.raw = {**data, "_canal": CHANNEL, "_id_national": national}
    return items
