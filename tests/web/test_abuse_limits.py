"""Abuse limits: exports, error reports and account e-mails are limited per address
(and error reports per offer), with counters in the database shared by every
worker; exports are bounded (CSV streamed, PDF refused beyond PDF_MAX_OFFERS)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import sessionmaker

from catalogue.models import ErrorReport
from tests.auth_helpers import csrf_token
from web import limits
from web.app import create_app


def make_app(settings, connection, **changes):
    app = create_app(settings.replace(**changes))
    app.config["TESTING"] = True
    app.extensions["offre"]["sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app


def _assert_429_in_french(r):
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    body = r.get_data(as_text=True)
    assert "Trop de demandes" in body and "Réessayez dans" in body


def test_exports_are_limited_per_address(settings, connection, factories):
    factories.ServiceFactory()
    app = make_app(settings, connection, export_rate_limit="2/minute")
    client = app.test_client()
    for _ in range(2):
        assert client.get("/recherche/export.csv").status_code == 200
    _assert_429_in_french(client.get("/recherche/export.xlsx"))  # one limit for CSV and Excel
    # Another address is not concerned.
    other = client.get("/recherche/export.csv", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_pdf_has_its_own_limit(settings, connection, factories):
    factories.ServiceFactory()
    app = make_app(settings, connection, pdf_rate_limit="1/hour")
    client = app.test_client()
    assert client.get("/recherche/export.pdf").status_code == 200
    _assert_429_in_french(client.get("/recherche/export.pdf"))


def test_counters_are_shared_by_workers(settings, connection, factories):
    """Two apps (two gunicorn workers) count in the same table."""
    factories.ServiceFactory()
    first = make_app(settings, connection, export_rate_limit="2/minute").test_client()
    second = make_app(settings, connection, export_rate_limit="2/minute").test_client()
    assert first.get("/recherche/export.csv").status_code == 200
    assert second.get("/recherche/export.csv").status_code == 200
    assert first.get("/recherche/export.csv").status_code == 429
    assert connection.scalar(text("SELECT count(*) FROM rate_limit_counter")) >= 1


def test_error_reports_are_limited_per_address_and_per_offer(settings, connection, db, factories):
    service = factories.ServiceFactory()
    db.flush()
    app = make_app(settings, connection, report_rate_limit="3/hour", report_rate_limit_per_offer="5/day",
                   smtp_port=1)
    client = app.test_client()
    url = f"/services/{service.id}/signaler"

    def post(ip):
        client.get(f"/services/{service.id}", environ_base={"REMOTE_ADDR": ip})
        return client.post(url, data={"message": "Le numéro de téléphone a changé.", "csrf_token": csrf_token(client)},
                           environ_base={"REMOTE_ADDR": ip})

    statuses = [post("192.0.2.1").status_code for _ in range(30)]
    assert statuses[:3] == [302] * 3 and set(statuses[3:]) == {429}
    r = post("192.0.2.1")
    _assert_429_in_french(r)
    # From other addresses, the offer itself stops at 5 reports.
    more = [post(f"198.51.100.{i}").status_code for i in range(1, 6)]
    assert more == [302, 302, 429, 429, 429]
    assert "trop de signalements" in post("198.51.100.77").get_data(as_text=True)
    # The same offer with its id written otherwise is the same offer.
    client.get(f"/services/{service.id}", environ_base={"REMOTE_ADDR": "198.51.100.99"})
    r = client.post(f"/services/{str(service.id).upper()}/signaler", environ_base={"REMOTE_ADDR": "198.51.100.99"},
                    data={"message": "Le numéro de téléphone a changé.", "csrf_token": csrf_token(client)})
    assert r.status_code == 429
    assert db.scalar(select(func.count()).select_from(ErrorReport).where(ErrorReport.service_id == service.id)) == 5


@pytest.mark.parametrize("path", ["/inscription", "/mot-de-passe-oublie"])
def test_account_mail_forms_are_limited_per_address(settings, connection, path):
    app = make_app(settings, connection, account_mail_rate_limit="2/minute", smtp_port=1)
    client = app.test_client()
    statuses = []
    for i in range(3):
        client.get(path)
        data = {"email": f"personne{i}@example.org", "password": "x" * 14, "password_confirm": "x" * 14,
                "csrf_token": csrf_token(client)}
        statuses.append(client.post(path, data=data).status_code)
    assert statuses[:2] == [200, 200]
    assert statuses[2] == 429
    # The page itself (GET) stays open.
    assert client.get(path).status_code == 200


def test_empty_setting_turns_a_limit_off(settings, connection, factories):
    factories.ServiceFactory()
    client = make_app(settings, connection, export_rate_limit="").test_client()
    assert all(client.get("/recherche/export.csv").status_code == 200 for _ in range(12))


def test_every_export_and_account_mail_route_is_limited(app):
    limited = {rule.endpoint for rule in limits.ROUTE_LIMITS}
    exports = {r.endpoint for r in app.url_map.iter_rules()
               if r.rule.startswith("/recherche/export") or r.endpoint.startswith("exports.")}
    assert exports and exports <= limited
    for endpoint in ("auth.register", "auth.forgot_password", "public.report_error"):
        assert endpoint in limited
    assert all(endpoint in app.view_functions for endpoint in limited)


def test_pdf_beyond_the_setting_is_refused_with_a_way_to_the_csv(settings, connection, factories):
    for _ in range(3):
        factories.ServiceFactory()
    client = make_app(settings, connection, pdf_max_offers=2).test_client()
    r = client.get("/recherche/export.pdf?code_commune=02408")
    assert r.status_code == 400
    body = r.get_data(as_text=True)
    assert "3 offres" in body and "2 au plus" in body
    assert 'href="/recherche/export.csv?code_commune=02408"' in body
    assert client.get("/recherche/export.pdf?code_commune=02408&q=inexistant").status_code == 200
    # Parameters named like url_for's own arguments are only carried along.
    r = client.get("/recherche/export.pdf?code_commune=02408&endpoint=x&_external=1&_scheme=javascript")
    assert r.status_code == 400
    assert 'href="/recherche/export.csv?code_commune=02408&amp;endpoint=x&amp;_external=1' in r.get_data(as_text=True)


def test_csv_is_streamed(client, factories):
    for _ in range(3):
        factories.ServiceFactory()
    r = client.get("/recherche/export.csv?code_commune=02408", buffered=False)
    assert r.is_streamed
    chunks = list(r.response)
    assert len(chunks) >= 4  # the header, then one chunk per offer
    r.close()
