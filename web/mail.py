"""Sending e-mail through the configured SMTP server."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from web.observability import count_mail
from web.settings import Settings


def send_mail(settings: Settings, to: list[str] | str, subject: str, body: str) -> None:
    """Send a plain-text e-mail; raises OSError/smtplib.SMTPException on failure."""
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        return
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_tls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        count_mail(False)
        raise
    count_mail(True)
