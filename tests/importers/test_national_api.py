"""Source data-inclusion-api: the département's offer from the national API (a
stand-in served on a loopback port, tests/importers/national_api.py), kept in step."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from catalogue import takeover
from catalogue.models import Service, Status, Structure
from importers import national
from importers.models import ImportRun, QuarantinedRecord
from tests.importers.conftest import DATA, counts
from tests.importers.national_api import TOKEN, WIDGET_TOKEN, FakeNationalApi
from web.commands.imports import import_group

# Aisne: 7 structures and 8 services placed there (one invalid), 3 pages of each
# with pages of 3; 7 remote services in France (3 pages), of which 4 placed
# elsewhere cover the Aisne (their 3 structures fetched one by one).
AISNE_STRUCTURES = {
    ("dora", "5f1c9a2e-ml-laon"), ("dora", "b7e29a10-ccas-sq"), ("france-travail", "FT-02007"),
    ("mes-aides", "rec4Gx7Qm2"), ("soliguide", "48213"), ("emplois-de-linclusion", "9931"),
    ("dora", "c0ffee01-epide"),
}
OUTSIDE_STRUCTURES = {("dora", "aa11bb22-ecoute"), ("france-travail", "FT-59100"), ("mes-aides", "recReims51")}
AISNE_SERVICES = {
    ("dora", "svc-7d1e-permis"), ("dora", "svc-7d1f-cej"), ("dora", "svc-88aa-domiciliation"),
    ("france-travail", "FT-02007-accompagnement-global"), ("mes-aides", "recSvcGarage1"),
    ("soliguide", "48213--64f0a1b2c3d4e5f6a7b8c9d0"), ("emplois-de-linclusion", "9931-espaces-verts"),
}
REMOTE_SERVICES = {
    ("dora", "svc-ecoute-nationale"), ("dora", "svc-ecoute-laon-epci"),
    ("france-travail", "FT-59100-visio-hdf"), ("mes-aides", "recSvcCodeEnLigne"),
}


@pytest.fixture
def api(httpserver):
    fake = FakeNationalApi()
    httpserver.expect_request(re.compile(r"^/api/v1/.*")).respond_with_handler(fake.handle)
    fake.url = httpserver.url_for("/")
    return fake


@pytest.fixture
def pull(sessions, api, tmp_path):
    """One run against the stand-in; returns the stored run's report (with its id,
    status and error)."""

    def run(**kwargs) -> dict:
        kwargs.setdefault("base_url", api.url)
        kwargs.setdefault("token", TOKEN)
        kwargs.setdefault("departement", "02")
        kwargs.setdefault("page_size", 3)
        kwargs.setdefault("spool_dir", tmp_path / "spool")
        kwargs.setdefault("backoff", 0)
        error = None
        try:
            run_id = national.run(sessions, **kwargs).run_id
        except national.ImporterError as exc:
            error, run_id = exc, exc.run_id
        with sessions() as s:
            stored = s.get(ImportRun, run_id)
            report = dict(stored.report or {})
            report.update(run_id=stored.id, status=stored.status, error=stored.error,
                          source=stored.source, exception=error)
        return report

    return run


def _keys(db, model, **where) -> set[tuple[str, str]]:
    query = select(model.source, model.source_id)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return {tuple(r) for r in db.execute(query)}


def _catalogue_size(db) -> tuple[int, int]:
    return db.scalar(select(func.count()).select_from(Structure)), db.scalar(select(func.count()).select_from(Service))


def test_imports_exactly_the_departements_offer_with_its_producers(db, pull, api):
    report = pull()
    assert report["status"] == "termine", report["error"]
    assert report["source"] == "data-inclusion-api"
    assert _keys(db, Structure) == AISNE_STRUCTURES | OUTSIDE_STRUCTURES
    assert _keys(db, Service) == AISNE_SERVICES | REMOTE_SERVICES
    assert counts(report, "structure")["crees"] == 10
    assert counts(report, "service")["crees"] == 11
    # Every listing was paged to its end: 3 pages of 3 each.
    for path in ("/structures", "/services"):
        assert {q["page"] for p, q in api.log if p == path and q.get("code_departement") == "02"} == {"1", "2", "3"}
    assert {q["page"] for p, q in api.log if q.get("modes_accueil") == "a-distance"} == {"1", "2", "3"}
    assert all(q.get("size") == "3" for p, q in api.log if "page" in q)
    # Provenance: the producer, its own id, and the national channel in the raw payload.
    ft = db.scalar(select(Service).where(Service.source_id == "FT-02007-accompagnement-global"))
    assert ft.source == "france-travail"
    assert ft.structure.source == "france-travail" and ft.structure.source_id == "FT-02007"
    assert ft.raw["_canal"] == "data-inclusion-api"
    assert ft.raw["_id_national"] == "france-travail--FT-02007-accompagnement-global"
    assert "score_qualite" not in ft.raw  # the API's own fields are not the producer's
    # Remote services placed elsewhere keep their structure, fetched by its id.
    visio = db.scalar(select(Service).where(Service.source_id == "FT-59100-visio-hdf"))
    assert visio.structure.commune == "Lille" and visio.zone_eligibilite == ["02", "59", "60", "62", "80"]
    assert api.requests_of("/structures/france-travail--FT-59100") == 1
    # Not for the Aisne: a zone elsewhere, no zone, on site elsewhere.
    assert not _keys(db, Service) & {("dora", "svc-lille-seulement"), ("dora", "svc-amiens-sans-zone"),
                                     ("dora", "svc-lille-sur-place")}
    assert report["avertissements"][
        "offres à distance d'autres départements dont la zone couvre le département (gardées)"] == 4
    assert report["avertissements"][
        "offres à distance d'autres départements sans zone d'éligibilité (ignorées)"] == 1


def test_an_invalid_record_of_a_page_is_quarantined_the_others_load(db, pull):
    report = pull()
    assert report["status"] == "termine"
    assert counts(report, "service")["rejetes"] == 1
    rejected = db.scalar(select(QuarantinedRecord).where(QuarantinedRecord.run_id == report["run_id"]))
    assert (rejected.record_source, rejected.record_id) == ("dora", "svc-0bad-numerique")
    assert "thematiques" in rejected.errors
    assert rejected.raw["id"] == "dora--svc-0bad-numerique"  # as the API sent it


def test_second_run_all_unchanged_then_a_record_removed_upstream_is_archived(db, pull, api):
    pull()
    again = pull()
    assert again["status"] == "termine"
    for kind, total in (("structure", 10), ("service", 11)):
        assert counts(again, kind)["inchanges"] == total
        assert counts(again, kind)["crees"] == counts(again, kind)["modifies"] == 0
        assert counts(again, kind)["archives"] == 0
    api.remove_service("mes-aides--recSvcGarage1")
    third = pull()
    assert counts(third, "service")["archives"] == 1
    gone = db.scalar(select(Service).where(Service.source_id == "recSvcGarage1"))
    db.refresh(gone)
    assert gone.status == Status.ARCHIVE  # archived, never deleted
    assert _catalogue_size(db) == (10, 11)


def test_a_429_is_retried_after_its_retry_after_and_a_500_then_200_too(db, pull, api):
    api.retry_after = "1"
    api.faults[("/structures", 2)] = [429]
    api.faults[("/services", 3)] = [500, 503]
    report = pull()
    assert report["status"] == "termine", report["error"]
    assert api.requests_of("/structures", page=2) == 2
    assert api.requests_of("/services", page=3, code_departement="02") == 3
    assert _keys(db, Service) == AISNE_SERVICES | REMOTE_SERVICES


def test_a_401_stops_with_a_french_message_and_writes_nothing(db, pull, api):
    report = pull(token="jeton-perime")
    assert report["status"] == "echoue"
    assert "jeton refusé par l'API data·inclusion (401" in report["error"]
    assert "DATA_INCLUSION_API_TOKEN" in report["error"]
    assert _catalogue_size(db) == (0, 0)
    assert api.requests_of("/structures") == 1  # not retried: a bad token stays bad


def test_a_token_without_access_to_the_data_is_a_403_message(db, pull):
    report = pull(token=WIDGET_TOKEN)
    assert report["status"] == "echoue"
    assert "(403)" in report["error"] and "jeton" in report["error"]
    assert _catalogue_size(db) == (0, 0)


def test_no_token_is_refused_before_any_request(db, pull, api):
    report = pull(token="")
    assert report["status"] == "echoue"
    assert "aucun jeton" in report["error"]
    assert api.log == []


def test_an_unreachable_api_is_a_clear_error_and_writes_nothing(db, pull, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = pull(base_url=f"http://127.0.0.1:{port}", attempts=2)
    assert report["status"] == "echoue"
    assert "injoignable" in report["error"] and "connexion refusée" in report["error"]
    assert _catalogue_size(db) == (0, 0)


def test_a_500_mid_way_writes_nothing_and_the_next_run_resumes(db, pull, api):
    api.faults[("/services", 2)] = [500] * 3
    failed = pull(attempts=3)
    assert failed["status"] == "echoue"
    assert "répond encore 500 après 3 essais" in failed["error"]
    assert _catalogue_size(db) == (0, 0)  # the pages before it were not loaded
    assert api.requests_of("/structures", page=2) == 1
    resumed = pull(attempts=3)
    assert resumed["status"] == "termine", resumed["error"]
    # Pages already received are read from the spool, not asked again; the first
    # page of each listing is, to check the totals have not moved.
    assert api.requests_of("/structures", page=2) == 1
    assert api.requests_of("/structures", page=3) == 1
    assert api.requests_of("/structures", page=1) == 2
    assert _keys(db, Service) == AISNE_SERVICES | REMOTE_SERVICES


def test_pages_received_under_other_totals_are_fetched_again(db, pull, api, tmp_path):
    api.faults[("/services", 3)] = [500]
    pull(attempts=1)
    api.remove_service("dora--svc-88aa-domiciliation")  # the national base was rebuilt since
    report = pull()
    assert report["status"] == "termine"
    assert api.requests_of("/services", page=2, code_departement="02") == 2
    assert api.requests_of("/services", page=2, modes_accueil="a-distance") == 1
    assert ("dora", "svc-88aa-domiciliation") not in _keys(db, Service)


def test_the_same_record_as_the_producers_own_import_is_not_duplicated(db, pull, run_import):
    # The Restos du Cœur of Laon, first from a Soliguide file of the département.
    direct = run_import("soliguide", DATA / "soliguide-places.json")
    assert direct["status"] == "termine"
    before = _catalogue_size(db)
    report = pull()
    assert report["status"] == "termine", report.get("error")
    resto = db.scalars(select(Structure).where(Structure.source == "soliguide", Structure.source_id == "48213")).all()
    assert len(resto) == 1
    food = db.scalars(select(Service).where(
        Service.source == "soliguide", Service.source_id == "48213--64f0a1b2c3d4e5f6a7b8c9d0")).all()
    assert len(food) == 1
    assert food[0].raw["_canal"] == "data-inclusion-api"  # updated through the national base
    # 1 Soliguide structure and 1 service were already there.
    assert _catalogue_size(db) == (before[0] + 9, before[1] + 10)


def test_partner_edits_win_field_by_field(db, pull, api):
    pull()
    svc = db.scalar(select(Service).where(Service.source_id == "svc-7d1e-permis"))
    svc.nom = "Permis B : aide de la mission locale"
    takeover.record(db, svc, {"nom": svc.nom})
    db.commit()
    upstream = api.service("dora--svc-7d1e-permis")
    upstream["nom"] = "Nom changé dans DORA"
    upstream["description"] = "Description changée dans DORA, elle suivie."
    pull()
    db.refresh(svc)
    assert svc.nom == "Permis B : aide de la mission locale"
    assert svc.description == "Description changée dans DORA, elle suivie."


def test_a_large_share_archived_at_once_is_refused_unless_forced(db, pull, api):
    pull()
    for national_id in ("dora--svc-7d1e-permis", "dora--svc-7d1f-cej", "dora--svc-88aa-domiciliation"):
        api.remove_service(national_id)  # 3 of DORA's 5 offers gone at once
    refused = pull()
    assert refused["status"] == "echoue"
    assert "instantané refusé" in refused["error"] and "de la source dora" in refused["error"]
    assert "--force-archive" in refused["error"]
    assert db.scalar(select(func.count()).select_from(Service).where(Service.status == Status.ARCHIVE)) == 0
    forced = pull(force_archive=True)
    assert forced["status"] == "termine"
    assert counts(forced, "service")["archives"] == 3


def test_only_the_producers_asked_for(db, pull, api):
    report = pull(producers=("france-travail",))
    assert report["status"] == "termine"
    assert {s for s, _ in _keys(db, Service)} == {"france-travail"}
    assert all(q.get("sources") == "france-travail" for p, q in api.log if "page" in q)


def test_unknown_departement_is_refused_before_any_request(db, pull, api):
    report = pull(departement="00")
    assert report["status"] == "echoue"
    assert "département inconnu" in report["error"]
    assert api.log == []


def test_command_shows_the_pages_and_the_report(app, api, tmp_path, db):
    runner = app.test_cli_runner()
    args = ["run", "data-inclusion-api", api.url, "--departement", "02", "--token", TOKEN,
            "--page-size", "3", "--spool", str(tmp_path / "spool")]
    result = runner.invoke(import_group, args)
    assert result.exit_code == 0, result.output
    assert "structures : page 3/3" in result.output
    assert "Reçus : 10 structures et 12 offres." in result.output
    assert "source data-inclusion-api" in result.output
    result = runner.invoke(import_group, args)
    assert result.exit_code == 0, result.output
    assert "Offres : 12 lus, 0 créés, 0 modifiés, 11 inchangés" in result.output
    bad = runner.invoke(import_group, [*args[:5], "--token", "mauvais", *args[7:]])
    assert bad.exit_code != 0
    assert "jeton refusé" in bad.output and "Le catalogue n'a pas été modifié." in bad.output


def test_command_reads_the_url_and_token_from_the_settings(app, api, tmp_path, db):
    config = app.extensions["offre"]["settings"]
    app.extensions["offre"]["settings"] = config.replace(
        data_inclusion_api_url=api.url, data_inclusion_api_token=TOKEN)
    result = app.test_cli_runner().invoke(
        import_group, ["data-inclusion-api", "--page-size", "3", "--spool", str(tmp_path / "spool")])
    assert result.exit_code == 0, result.output
    assert "département 02" in result.output
    assert _catalogue_size(db) == (10, 11)


def test_a_producer_missing_from_a_whole_run_is_kept_and_reported(db, pull, api):
    pull()
    api.structures = [s for s in api.structures if s["source"] != "mes-aides"]
    api.services = [s for s in api.services if s["source"] != "mes-aides"]
    report = pull()
    assert report["status"] == "termine"
    assert counts(report, "service")["archives"] == 0
    assert report["avertissements"][
        "producteur absent de ce passage, ses offres sont gardées telles quelles : mes-aides"] == 2
    assert report["avertissements"][
        "producteur absent de ce passage, ses structures sont gardées telles quelles : mes-aides"] == 2


def test_a_quarantined_record_is_retried_with_the_same_ids(db, pull, sessions):
    from importers.retry import retry

    report = pull()
    rejected = db.scalar(select(QuarantinedRecord).where(QuarantinedRecord.run_id == report["run_id"]))
    fixed = dict(rejected.raw, thematiques=["numerique--maitriser-les-fondamentaux-du-numerique"])
    (new_run,) = retry(sessions, quarantine_id=rejected.id, payload=fixed)
    with sessions() as s:
        assert s.get(ImportRun, new_run).source == "data-inclusion-api"
    svc = db.scalar(select(Service).where(Service.source == "dora", Service.source_id == "svc-0bad-numerique"))
    assert svc is not None and svc.structure.source_id == "c0ffee01-epide"


def test_two_runs_on_the_same_spool_at_once_are_refused(db, pull, tmp_path):
    plan = national.Plan(root="http://127.0.0.1:9/api/v1", departement="02")
    holder = national.Spool(tmp_path / "spool", plan)
    try:
        report = pull()
    finally:
        holder.release()
    assert report["status"] == "echoue"
    assert "un autre import data-inclusion-api du même département est en cours" in report["error"]
    assert _catalogue_size(db) == (0, 0)
