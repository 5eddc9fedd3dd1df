"""Account e-mails (registration, verification link, password reset) asked for
within MAIL_WINDOW are counted per address and per client IP (table mail_request):
past MAX_MAILS_PER_* the request is refused, whether the address has an account
or not, so the answer tells nothing about accounts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogue.accounts import MailRequest

log = logging.getLogger(__name__)

MAIL_WINDOW = timedelta(hours=1)
MAX_MAILS_PER_EMAIL = 3
MAX_MAILS_PER_IP = 20
TOO_MANY_MAILS = (
    "Trop de courriels demandés pour cette adresse ou depuis ce réseau. "
    "Consultez ceux déjà reçus (et le dossier des indésirables), ou réessayez dans une heure."
)


def mail_request_allowed(db: Session, kind: str, email: str, ip: str) -> bool:
    """Record that an account e-mail to `email` is asked for from `ip`; False, and
    nothing recorded, when the address or the IP already asked MAX_MAILS_PER_* times
    within MAIL_WINDOW (the request is committed)."""
    since = datetime.now(UTC) - MAIL_WINDOW
    by_email = db.scalar(
        select(func.count()).select_from(MailRequest).where(MailRequest.email == email, MailRequest.at >= since)
    )
    by_ip = db.scalar(
        select(func.count()).select_from(MailRequest).where(MailRequest.ip == ip, MailRequest.at >= since)
    )
    if by_email >= MAX_MAILS_PER_EMAIL or by_ip >= MAX_MAILS_PER_IP:
        log.warning("account e-mail %s to %s refused: too many requests (ip %s)", kind, email, ip)
        return False
    db.add(MailRequest(kind=kind, email=email, ip=ip))
    db.commit()
    return True
