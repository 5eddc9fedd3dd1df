"""The data·inclusion export sends what is ours (the back-office, the partners' API,
the partners' own files) under the département's name; what came from another base
only on request, under its own source and id."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from catalogue import export
from catalogue.models import Structure
from importers import registry
from importers.sources.partner import parse_mapping
from tests.importers.conftest import DATA


@pytest.fixture
def sessions(connection):
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def runner_env(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def _catalogue(factories, sessions, tmp_path):
    """Records of every origin, as a département's catalogue holds them."""
    local = factories.StructureFactory(source="local", source_id="l1", nom="Centre social de Laon")
    factories.ServiceFactory(structure=local, source="local", source_id="l1-s", nom="Atelier numérique")
    api = factories.StructureFactory(source="local", source_id="l2", nom="Association Rebond")
    factories.ServiceFactory(structure=api, source=f"api-{api.id}", source_id="rebond-1", nom="Chantier d'insertion")
    # Another base's structure, its service, and a service a partner added to it here.
    dora = factories.StructureFactory(source="dora", source_id="dora-ccas", nom="CCAS de Chauny",
                                      lien_source="https://dora.inclusion.beta.gouv.fr/structures/ccas")
    factories.ServiceFactory(structure=dora, source="dora", source_id="dora-epicerie", nom="Épicerie sociale",
                             lien_source="https://dora.inclusion.beta.gouv.fr/services/epicerie")
    factories.ServiceFactory(structure=dora, source="local", source_id="l3-s", nom="Permanence logement")
    only_dora = factories.StructureFactory(source="dora", source_id="dora-ml", nom="Mission locale")
    factories.ServiceFactory(structure=only_dora, source="dora", source_id="dora-permis", nom="Aide au permis")
    # A partner's own file.
    mapping = parse_mapping((DATA / "partenaire-correspondance.yaml").read_text(encoding="utf-8"))
    registry.run_import(sessions, "partenaire", str(DATA / "partenaire-offres.csv"), tmp_path,
                        options={"mapping": mapping})
    return mapping["source"]


def _names(page):
    return {r["nom"]: r for r in page.records}


def test_by_default_only_our_records_under_our_name(db, factories, sessions, tmp_path):
    partner = _catalogue(factories, sessions, tmp_path)
    db.expire_all()
    structures = _names(export.structures_page(db, "cd02", size=1000))
    services = _names(export.services_page(db, "cd02", size=1000))
    partner_structures = db.scalars(select(Structure.nom).where(Structure.source == partner)).all()
    assert partner_structures
    # The DORA structure holding a service written here goes with it; the other DORA one does not.
    assert set(structures) == {"Centre social de Laon", "Association Rebond", "CCAS de Chauny",
                               *partner_structures}
    assert {"Atelier numérique", "Chantier d'insertion", "Permanence logement"} <= set(services)
    assert "Épicerie sociale" not in services and "Aide au permis" not in services
    assert all(r["source"] == "cd02" and r["id"].startswith("cd02--")
               for r in [*structures.values(), *services.values()])
    ids = {r["id"] for r in structures.values()}
    assert all(s["structure_id"] in ids for s in services.values())


def test_include_imported_credits_their_source(db, factories, sessions, tmp_path):
    _catalogue(factories, sessions, tmp_path)
    db.expire_all()
    structures = _names(export.structures_page(db, "cd02", size=1000, include_imported=True))
    page = export.services_page(db, "cd02", size=1000, include_imported=True)
    services = _names(page)
    ml = structures["Mission locale"]
    assert (ml["source"], ml["id"]) == ("dora", "dora-ml")
    permis = services["Aide au permis"]
    assert (permis["source"], permis["id"], permis["structure_id"]) == ("dora", "dora-permis", "dora-ml")
    # The structure holding our service stays ours; DORA's own service in it cannot be
    # sent under DORA's name in our structure: left out, said.
    assert structures["CCAS de Chauny"]["source"] == "cd02"
    assert services["Permanence logement"]["source"] == "cd02"
    (refused,) = [r for r in page.rejected if r.nom == "Épicerie sociale"]
    assert "même source" in refused.reasons["source"][0]
    ids = {r["id"] for r in structures.values()}
    assert all(s["structure_id"] in ids for s in services.values())


def test_command_and_api_option(app, runner_env, factories, sessions, tmp_path, client):
    from web.cli import build_cli

    _catalogue(factories, sessions, tmp_path)
    runner = app.test_cli_runner()
    cli = build_cli()
    ours = runner.invoke(cli, ["export", "data-inclusion", str(tmp_path / "nous")], obj=runner_env)
    assert ours.exit_code == 0, ours.output
    records = json.loads((tmp_path / "nous" / "services.json").read_text())
    assert {r["source"] for r in records} == {"cd02"}
    everything = runner.invoke(cli, ["export", "data-inclusion", str(tmp_path / "tout"), "--include-imported"],
                               obj=runner_env)
    records = json.loads((tmp_path / "tout" / "services.json").read_text())
    assert {r["source"] for r in records} == {"cd02", "dora"}
    assert "écarté" in everything.output  # DORA's service in the structure we export
    dora = [r for r in records if r["source"] == "dora"]
    assert dora[0]["lien_source"] is None or dora[0]["lien_source"].startswith("https://")

    response = client.get("/api/v1/export/data-inclusion/services?size=1000")
    assert {r["source"] for r in response.json["items"]} == {"cd02"}
    response = client.get("/api/v1/export/data-inclusion/services?size=1000&include_imported=true")
    assert {r["source"] for r in response.json["items"]} == {"cd02", "dora"}
    bad = client.get("/api/v1/export/data-inclusion/services?include_imported=peut-etre")
    assert bad.status_code == 400 and "include_imported" in json.dumps(bad.json)
