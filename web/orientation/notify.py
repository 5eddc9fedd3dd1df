"""Sending the e-mails of the orientations (their text: catalogue.orientation_mail).
A failed sending never undoes a step: the inbox and « Mes orientations » show it
anyway; the failure is counted and reported to the caller."""

from __future__ import annotations

import logging
import smtplib

from catalogue import orientation_mail as mails
from catalogue.orientation import Orientation
from web.mail import send_mail

log = logging.getLogger(__name__)


def _send(settings, mail: mails.Mail) -> bool:
    if not mail.to:
        return True
    try:
        send_mail(settings, mail.to, mail.subject, mail.body(f"L'équipe du SPIE — {settings.departement_nom}"))
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("orientation mail not sent: %s", exc.__class__.__name__)
        return False
    return True


def orientation_sent(settings, session, o: Orientation) -> bool:
    results = [_send(settings, m) for m in mails.sent(session, o, settings.base_url)]
    return all(results)


def orientation_decided(settings, o: Orientation, kind: str) -> bool:
    return _send(settings, mails.decided(o, kind, settings.base_url))


def orientation_answered(settings, session, o: Orientation) -> bool:
    return _send(settings, mails.answered(session, o, settings.base_url))


def reminder(settings, session, o: Orientation) -> tuple[bool, int]:
    mail = mails.reminder(session, o, settings.base_url)
    return _send(settings, mail), len(mail.to)
