"""Freshness: « Rien n'a changé », stale marks on the dashboard and for moderators,
and `offre reminders send` through a local SMTP server, once per stale period."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask.cli import ScriptInfo
from sqlalchemy import func, select

from catalogue import freshness
from catalogue.freshness import FreshnessReminder
from catalogue.models import Service
from tests.auth_helpers import add_member, make_user
from tests.web.backoffice.conftest import log_in, post, text_of
from web.cli import build_cli

OLD = date(2025, 1, 1)


def _make_stale(db, service, days=30):
    service.date_maj = OLD
    service.confirmed_at = None
    service.created_at = datetime(2025, 1, 1, tzinfo=UTC)
    service.frequence_maj_jours = days
    db.commit()


def test_confirm_in_one_click_clears_the_stale_mark(client, db, world):
    s = world["b_pub"]
    _make_stale(db, s)
    assert freshness.is_stale(s)
    log_in(client, world["users"]["membre_b"])
    page = text_of(client.get(f"/espace/structures/{world['b'].id}"))
    assert "Offres à confirmer (1)" in page and "À confirmer" in page
    r = post(client, f"/espace/services/{s.id}/confirmer")
    assert r.status_code == 302
    db.expire_all()
    s = db.get(Service, s.id)
    assert s.confirmed_at is not None and not freshness.is_stale(s)
    assert "Offres à confirmer (0)" in text_of(client.get(f"/espace/structures/{world['b'].id}"))


def test_moderators_see_the_stale_offers_of_their_territory_only(client, db, world):
    _make_stale(db, world["b_pub"])
    log_in(client, world["users"]["moderateur"])
    page = text_of(client.get("/espace/moderation/offres-a-verifier"))
    assert "Offre publiée de B" in page and "Offre publiée de A" not in page
    log_in(client, world["users"]["moderateur_autre"])
    page = text_of(client.get("/espace/moderation/offres-a-verifier"))
    assert "Offre publiée de B" not in page and "Aucune offre en retard" in page


def _run(app, *args):
    return build_cli().main(args=list(args), obj=ScriptInfo(create_app=lambda: app), standalone_mode=False)


def test_reminders_are_mailed_to_members_once_per_stale_period(app, db, world, smtp, capsys):
    s = world["b_pub"]
    _make_stale(db, s)
    other = make_user(db, email="autre-membre-b@example.org")
    add_member(db, other, world["b"])
    unverified = make_user(db, email="non-verifie@example.org", verified=False)
    add_member(db, unverified, world["b"])
    db.commit()
    _run(app, "reminders", "send")
    out = capsys.readouterr().out
    assert "courriels envoyés : 2" in out
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["autre-membre-b@example.org", "membre-b@example.org"]
    import email
    from email import policy

    body = email.message_from_bytes(smtp.messages[0].content, policy=policy.default).get_content()
    assert "Offre publiée de B" in body and f"/espace/services/{s.id}/modifier" in body
    [reminder] = db.scalars(select(FreshnessReminder).where(FreshnessReminder.service_id == s.id)).all()
    assert reminder.due_on == freshness.due_on(s)
    # Again (tomorrow's cron): nothing new is sent for the same period.
    _run(app, "reminders", "send", "--today", (date.today() + timedelta(days=1)).isoformat())
    assert len(smtp.messages) == 2
    assert "déjà relancées pour cette période : 1" in capsys.readouterr().out
    # Confirmed, then stale again later: a new period, a new reminder.
    freshness.confirm(db, s, at=datetime(2025, 6, 1, tzinfo=UTC))
    db.commit()
    _run(app, "reminders", "send")
    assert len(smtp.messages) == 4
    assert db.scalar(select(func.count()).select_from(FreshnessReminder)) == 2
    # The dashboard shows when the last reminder went out.
    client = app.test_client()
    log_in(client, world["users"]["membre_b"])
    page = text_of(client.get(f"/espace/structures/{world['b'].id}"))
    assert "Dernière relance" in page and date.today().strftime("%d/%m/%Y") in page


def test_reminder_not_recorded_when_the_mail_fails(app, db, world):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = app.extensions["offre"]["settings"]
    app.extensions["offre"]["settings"] = settings.replace(smtp_host="127.0.0.1", smtp_port=port)
    _make_stale(db, world["b_pub"])
    try:
        _run(app, "reminders", "send")
    except Exception as exc:  # ClickException: the cron job sees a failure
        assert "n'ont pas pu partir" in str(exc)
    else:
        raise AssertionError("expected a failure")
    assert db.scalar(select(func.count()).select_from(FreshnessReminder)) == 0


def test_dry_run_sends_and_records_nothing(app, db, world, smtp, capsys):
    _make_stale(db, world["b_pub"])
    _run(app, "reminders", "send", "--dry-run")
    assert "[essai] membre-b@example.org" in capsys.readouterr().out
    assert smtp.messages == []
    assert db.scalar(select(func.count()).select_from(FreshnessReminder)) == 0
