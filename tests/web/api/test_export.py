"""data·inclusion v1 export: every record of the demo catalogue validates, the pages
are stable and complete, and the command writes JSON, NDJSON and CSV."""

from __future__ import annotations

import csv
import json
import uuid

from data_inclusion.schema import v1
from sqlalchemy import func, select

from catalogue import export
from catalogue.db import make_engine, make_sessionmaker
from catalogue.models import Service, Status, Structure


def _all(client, kind, size):
    items, url, pages = [], f"/api/v1/export/data-inclusion/{kind}?size={size}", 0
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.json
        items.extend(r.json["items"])
        url = r.json["links"].get("next")
        if url:
            assert r.headers["Link"] == f'<{url}>; rel="next"'
        pages += 1
    return items, pages


def test_the_demo_catalogue_validates_100_percent(demo_app, demo_database_url):
    client = demo_app.test_client()
    structures, pages = _all(client, "structures", 120)
    services, _ = _all(client, "services", 400)
    engine = make_engine(demo_database_url)
    with make_sessionmaker(engine)() as session:
        n_structures = session.scalar(select(func.count()).select_from(Structure).where(Structure.status == Status.PUBLIE))
        n_services = session.scalar(select(func.count()).select_from(Service).where(Service.status == Status.PUBLIE))
    engine.dispose()
    assert (n_structures, n_services) == (300, 1500)
    assert pages == 3
    # Every published record is exported once, and validates with data·inclusion's models.
    assert len(structures) == len({s["id"] for s in structures}) == n_structures
    assert len(services) == len({s["id"] for s in services}) == n_services
    for record in structures:
        v1.Structure.model_validate(record)
    for record in services:
        v1.Service.model_validate(record)
    ids = {s["id"] for s in structures}
    assert all(s["structure_id"] in ids for s in services)
    assert all(s["source"] == "cd02" and s["id"].startswith("cd02--") for s in structures + services)


def test_invalid_records_are_left_out_with_their_reason(db, factories):
    # Written in the back-office (source local): ours, exported under the département's name.
    structure = factories.StructureFactory(nom="Structure valide", source="local")
    good = factories.ServiceFactory(structure=structure, zone_eligibilite=[], publics=[], source="local")
    bad = factories.ServiceFactory(structure=structure, description=None, source="local")
    page = export.services_page(db, "cd02", size=1000)
    records = {r["id"]: r for r in page.records}
    assert export.record_id("cd02", good.id) in records
    # Empty lists are absent, not empty (data·inclusion refuses an empty zone).
    assert records[export.record_id("cd02", good.id)]["zone_eligibilite"] is None
    rejected = {r.catalogue_id: r for r in page.rejected}
    assert "description" in rejected[bad.id].reasons


def test_cursor_errors_name_the_field(demo_app):
    r = demo_app.test_client().get("/api/v1/export/data-inclusion/services?cursor=%%%")
    assert r.status_code == 400 and r.content_type == "application/problem+json"
    assert "cursor" in r.json["errors"]
    r = demo_app.test_client().get("/api/v1/export/data-inclusion/services?size=0")
    assert r.status_code == 400 and "size" in r.json["errors"]


def test_command_writes_json_ndjson_csv(demo_app, tmp_path):
    runner = demo_app.test_cli_runner()
    from web.commands.export import data_inclusion

    result = runner.invoke(data_inclusion, [str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "services : 1500 écrits" in result.output
    services = json.loads((tmp_path / "services.json").read_text())
    lines = (tmp_path / "services.ndjson").read_text().splitlines()
    assert len(services) == len(lines) == 1500
    assert json.loads(lines[0]) == services[0]
    with open(tmp_path / "structures.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 300 and list(rows[0]) == list(export.STRUCTURE_FIELDS)
    uuid.UUID(rows[0]["id"].split("--", 1)[1])
