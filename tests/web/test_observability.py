"""Issue 17, point 5: /metrics (content, closed to the public), request ids in JSON
request logs, /healthz checking each dependency and answering 503 beyond the
thresholds; secrets read from *_FILE variables."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import text

from web.app import create_app
from web.logs import formatter
from web.settings import Settings

TOKEN = "jeton-de-supervision-0123456789"


@pytest.fixture
def metrics_app(app):
    ext = app.extensions["offre"]
    ext["settings"] = ext["settings"].replace(metrics_token=TOKEN)
    return app


def _metrics(client, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get("/metrics", headers=headers)


def test_metrics_refused_without_the_token_and_closed_when_none_is_set(app, client, metrics_app):
    assert _metrics(client, None).status_code == 401
    assert _metrics(client, "mauvais").status_code == 401
    assert "Bearer" in _metrics(client, None).headers["WWW-Authenticate"]
    assert _metrics(client).status_code == 200
    closed = create_app(Settings(database_url=app.extensions["offre"]["settings"].database_url,
                                 offre_env="test"))
    closed.extensions["offre"]["sessionmaker"] = app.extensions["offre"]["sessionmaker"]
    assert closed.test_client().get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_count_routes_searches_outbox_imports_and_jobs(metrics_app, client, db, factories):
    factories.ServiceFactory()
    db.execute(text("INSERT INTO scheduled_job_run (name, status, finished_at)"
                    " VALUES ('purge-cto', 'ok', now())"))
    db.flush()
    assert client.get("/api/v1/services/search", query_string={"q": "atelier"}).status_code == 200
    client.get("/recherche", query_string={"q": "atelier"})
    client.get("/healthz")
    body = _metrics(client).get_data(as_text=True)
    assert 'offre_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert 'offre_http_request_duration_seconds_bucket{le="0.01",method="GET",route="/healthz"}' in body
    assert 'offre_search_duration_seconds_count{engine="postgres"}' in body
    assert "offre_search_outbox_rows 0.0" in body
    assert "offre_search_outbox_oldest_age_seconds 0.0" in body
    assert 'offre_scheduled_job_last_finished_timestamp_seconds{job="purge-cto",status="ok"}' in body
    assert "offre_database_up 1.0" in body
    assert "offre_import_runs" in body and "offre_mails_total" in body


def test_mail_failures_are_counted(metrics_app, client):
    from web.mail import send_mail

    settings = metrics_app.extensions["offre"]["settings"].replace(smtp_host="127.0.0.1", smtp_port=9)
    before = _metrics(client).get_data(as_text=True)
    with pytest.raises(OSError):
        send_mail(settings, "quelqu-un@example.org", "Essai", "Corps")
    after = _metrics(client).get_data(as_text=True)

    def failures(text_):
        for line in text_.splitlines():
            if line.startswith('offre_mails_total{result="echec"}'):
                return float(line.split()[-1])
        return 0.0

    assert failures(after) == failures(before) + 1


def test_each_request_logged_as_json_with_its_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="offre.requests")
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "pas valable\u00e9" * 3})
    assert made.headers["X-Request-ID"] != "abc-123" and len(made.headers["X-Request-ID"]) == 32
    records = [r for r in caplog.records if r.name == "offre.requests"]
    assert [r.request_id for r in records] == ["abc-123", made.headers["X-Request-ID"]]
    line = json.loads(formatter("json").format(records[0]))
    assert line["request_id"] == "abc-123" and line["route"] == "/healthz"
    assert line["status"] == 200 and line["method"] == "GET" and "duration_ms" in line


def test_healthz_503_when_the_outbox_is_older_than_the_threshold(app, client, db, factories):
    db.execute(text("UPDATE search_engine_state SET engine = 'meilisearch', outbox_enabled = true"))
    service = factories.ServiceFactory()
    db.flush()
    assert client.get("/healthz").status_code == 200
    db.execute(text("UPDATE search_outbox SET at = now() - interval '1 hour' WHERE service_id = :id"),
               {"id": service.id})
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "down" and body["outbox"]["status"] == "down"
    assert body["outbox"]["oldest_age_s"] >= 3600 and body["outbox"]["rows"] == 1


def test_healthz_503_when_the_search_table_cannot_be_read(app, client, db):
    db.execute(text("ALTER TABLE search_document RENAME TO search_document_hidden"))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["search"]["status"] == "down" and body["database"]["status"] == "ok"


def test_healthz_degraded_but_200_when_meilisearch_is_unreachable(app, client):
    from web.search_ import use_settings

    use_settings(app, app.extensions["offre"]["settings"].replace(search_backend="meilisearch",
                                                                  meilisearch_url="http://127.0.0.1:9"))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded"


def test_settings_read_from_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("une-longue-cle-secrete-lue-dans-un-fichier\n")
    s = Settings.from_env({"SECRET_KEY_FILE": str(secret), "WEB_WORKERS": "5"})
    assert s.secret_key == "une-longue-cle-secrete-lue-dans-un-fichier"
    assert s.web_workers == 5
    with pytest.raises(ValueError, match="SECRET_KEY et SECRET_KEY_FILE"):
        Settings.from_env({"SECRET_KEY_FILE": str(secret), "SECRET_KEY": "autre"})
    with pytest.raises(ValueError, match="MEILISEARCH_KEY_FILE : fichier illisible"):
        Settings.from_env({"MEILISEARCH_KEY_FILE": str(tmp_path / "absent")})


# Route × role of the routes added for operations: /metrics opens to its token only
# (no role of the application opens it); /healthz is public (it shows no data).
OPS_ROUTES = {"observability.metrics": "jeton", "health.healthz": "public"}


def test_ops_routes_by_role(metrics_app, db):
    from tests.auth_helpers import login, make_user

    endpoints = {r.endpoint for r in metrics_app.url_map.iter_rules()
                 if r.endpoint.startswith(("observability.", "health."))}
    assert endpoints == set(OPS_ROUTES)
    make_user(db, "admin@example.org", is_admin=True)
    make_user(db, "partenaire@example.org")
    for who in (None, "partenaire@example.org", "admin@example.org"):
        client = metrics_app.test_client()
        if who:
            login(client, who)
            assert client.get("/espace").status_code == 200
        assert client.get("/healthz").status_code == 200
        assert _metrics(client, None).status_code == 401, who
        assert _metrics(client).status_code == 200
