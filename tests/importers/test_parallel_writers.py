"""Batches written two at a time, each on its own connection (importers.writers._Writers),
against a database of its own: the tests' usual transaction binds every session to
one connection, where batches are written one at a time."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from catalogue.db import make_engine, make_sessionmaker
from catalogue.models import AuditLog, SearchOutbox, Service, Structure
from importers import load, registry
from importers.records import SERVICE
from tests import dbsetup


@pytest.fixture
def own_database(pg_server_url, template_db):
    url = dbsetup.create_test_database(pg_server_url, template_db, label="parallel_writers_")
    engine = make_engine(url)
    yield engine
    engine.dispose()
    dbsetup.drop_database(pg_server_url, url)


def _file(path, structures: int, services: int) -> None:
    """Structures and their services interleaved: most services come in a later
    batch than their structure; two services name a structure that nobody has."""
    lines = []
    for i in range(structures):
        lines.append({"source": "essai", "id": f"s{i}", "nom": f"Association numéro {i}",
                      "code_insee": "02691", "date_maj": "2026-01-05"})
        for j in range(services // structures):
            n = i * (services // structures) + j
            lines.append({"source": "essai", "id": f"v{n}", "structure_id": f"s{max(0, i - 3)}",
                          "nom": f"Atelier {n}", "description": "Atelier numérique pour débuter.",
                          "thematiques": ["numerique--maitriser-les-fondamentaux-du-numerique"],
                          "code_insee": "02691", "zone_eligibilite": ["02"], "date_maj": "2026-01-05"})
    lines[40]["structure_id"] = "personne"
    lines[-1]["structure_id"] = "personne"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")


def test_two_writers_load_every_batch_whole_and_in_dependency_order(own_database, tmp_path):
    assert load.WRITERS == 2
    sessions = make_sessionmaker(own_database)
    # The outbox on (an external engine fed): its rows are written by both writers too.
    with sessions() as s, s.begin():
        s.execute(text("UPDATE search_engine_state SET engine = 'meilisearch', outbox_enabled = true"))
    path = tmp_path / "essai.ndjson"
    _file(path, structures=60, services=600)
    loader = registry.run_import(sessions, "data-inclusion", str(path), tmp_path, batch_size=37)
    report = loader.report.as_dict()
    assert report["compteurs"]["structure"]["crees"] == 60
    assert report["compteurs"]["service"]["crees"] == 598
    assert report["compteurs"]["service"]["rejetes"] == 2
    assert len(report["rejets"]) == 2
    assert all("structure inconnue : personne" in r["motif"] for r in report["rejets"])
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Structure)) == 60
        assert s.scalar(select(func.count()).select_from(Service)) == 598
        # Every service with its own structure (s(i-3)), its search row, audit and outbox rows.
        wrong = s.scalar(text(
            "SELECT count(*) FROM service v JOIN structure st ON st.id = v.structure_id "
            "WHERE st.source_id <> 's' || greatest(0, CAST(substr(v.source_id, 2) AS int) / 10 - 3)"))
        assert wrong == 0
        assert s.scalar(text("SELECT count(*) FROM search_document")) == 598
        assert s.scalar(select(func.count()).select_from(SearchOutbox)) == 598
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.table_name == "service")) == 598
        # The stored run's report is the whole run's.
        stored = s.scalar(text("SELECT report FROM import_run WHERE id = :i"), {"i": loader.run_id})
        assert stored["compteurs"] == report["compteurs"]
        assert s.scalar(text("SELECT count(*) FROM import_quarantine WHERE run_id = :i"), {"i": loader.run_id}) == 2

    again = registry.run_import(sessions, "data-inclusion", str(path), tmp_path, batch_size=37)
    counts = again.report.as_dict()["compteurs"]
    assert counts["service"]["inchanges"] == 598 and counts["service"]["crees"] == 0
    assert counts["structure"]["inchanges"] == 60


def test_a_record_repeated_in_later_batches_ends_as_its_last_version(own_database, tmp_path):
    sessions = make_sessionmaker(own_database)
    lines = [{"source": "essai", "id": "s0", "nom": "Association", "code_insee": "02691",
              "date_maj": "2026-01-05"}]
    for version in range(6):  # the same two offers in six batches of two, in turns
        for key in (("a", "b") if version % 2 == 0 else ("b", "a")):
            lines.append({"source": "essai", "id": key, "structure_id": "s0", "nom": f"Offre {key} v{version}",
                          "description": "Une offre.", "thematiques": ["numerique--maitriser-les-fondamentaux-du-numerique"],
                          "code_insee": "02691", "date_maj": "2026-01-05"})
    path = tmp_path / "repetitions.ndjson"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines[:1] + lines[1:]) + "\n")
    # Batches of two: the structure and offer a, then (b, a), (b, a)… each pair in turn.
    loader = registry.run_import(sessions, "data-inclusion", str(path), tmp_path, batch_size=2)
    assert loader.report.as_dict()["compteurs"]["service"]["rejetes"] == 0
    with sessions() as s:
        names = dict(s.execute(select(Service.source_id, Service.nom)).all())
        assert names == {"a": "Offre a v5", "b": "Offre b v5"}
        words = s.scalar(text("SELECT document FROM search_document d JOIN service v ON v.id = d.service_id "
                              "WHERE v.source_id = 'a'"))
        assert "v5" in words


def test_structures_first_then_services_in_batches_side_by_side(own_database, tmp_path):
    sessions = make_sessionmaker(own_database)
    lines = [{"source": "essai", "id": f"s{i}", "nom": f"Structure {i}", "code_insee": "02691",
              "date_maj": "2026-01-05"} for i in range(100)]
    lines += [{"source": "essai", "id": f"v{n}", "structure_id": f"s{n % 100}", "nom": f"Offre {n}",
               "description": "Une offre.", "thematiques": ["numerique--maitriser-les-fondamentaux-du-numerique"],
               "code_insee": "02691", "date_maj": "2026-01-05"} for n in range(300)]
    path = tmp_path / "ordre.ndjson"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    loader = registry.run_import(sessions, "data-inclusion", str(path), tmp_path, batch_size=20)
    counts = loader.report.as_dict()["compteurs"]
    assert counts["structure"]["crees"] == 100 and counts["service"]["crees"] == 300
    assert counts["service"]["rejetes"] == 0
    with sessions() as s:
        linked = s.scalar(text(
            "SELECT count(*) FROM service v JOIN structure st ON st.id = v.structure_id "
            "WHERE st.source_id = 's' || (CAST(substr(v.source_id, 2) AS int) % 100)"))
        assert linked == 300
        assert s.scalar(text("SELECT count(*) FROM search_document")) == 300


def test_a_batch_aborted_as_a_deadlock_is_written_again_and_counted_once(own_database, tmp_path, monkeypatch):
    # Two batches of services written at once take two locks in opposite orders (a
    # trigger of this database only): the database aborts one of them as a deadlock.
    with own_database.begin() as c:
        c.execute(text("""
            CREATE FUNCTION test_lock_order() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.source_id = 'a1' THEN
                PERFORM pg_advisory_xact_lock(1); PERFORM pg_sleep(0.3); PERFORM pg_advisory_xact_lock(2);
              ELSIF NEW.source_id = 'b1' THEN
                PERFORM pg_advisory_xact_lock(2); PERFORM pg_sleep(0.3); PERFORM pg_advisory_xact_lock(1);
              END IF;
              RETURN NEW;
            END $$"""))
        c.execute(text("CREATE TRIGGER test_lock_order BEFORE INSERT ON service "
                       "FOR EACH ROW EXECUTE FUNCTION test_lock_order()"))
    sessions = make_sessionmaker(own_database)
    lines = [{"source": "essai", "id": f"s{i}", "nom": f"Structure {i}", "code_insee": "02691",
              "date_maj": "2026-01-05"} for i in range(2)]
    lines += [{"source": "essai", "id": key, "structure_id": "s0", "nom": f"Offre {key}",
               "description": "Une offre.", "thematiques": ["numerique--maitriser-les-fondamentaux-du-numerique"],
               "code_insee": "02691", "date_maj": "2026-01-05"} for key in ("a0", "a1", "b0", "b1")]
    path = tmp_path / "verrous.ndjson"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")

    attempts = []
    original = load.Loader._write

    def counting(self, session, prepared):
        attempts.append(tuple(prepared.keys[SERVICE]))
        return original(self, session, prepared)

    monkeypatch.setattr(load.Loader, "_write", counting)
    loader = registry.run_import(sessions, "data-inclusion", str(path), tmp_path, batch_size=2)
    # Three batches, one of them written twice.
    assert len(attempts) == 4
    counts = loader.report.as_dict()["compteurs"]["service"]
    assert counts["crees"] == 4 and counts["rejetes"] == 0 and counts["inchanges"] == 0
    assert len(loader.created[SERVICE]) == 4
    with sessions() as s:
        assert s.scalar(text("SELECT count(*) FROM service")) == 4
        assert s.scalar(text("SELECT count(*) FROM search_document")) == 4
        stored = s.scalar(text("SELECT report FROM import_run WHERE id = :i"), {"i": loader.run_id})
        assert stored["compteurs"]["service"]["crees"] == 4
