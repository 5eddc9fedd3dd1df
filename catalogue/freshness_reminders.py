"""The freshness reminders (`offre reminders send`, web/commands/reminders.py):
e-mail the editors of stale offers.

Each stale offer is reminded once per stale period: the reminder is recorded
(catalogue.freshness.FreshnessReminder) with the day the offer became stale, so
running the command again the same day, or every day, sends nothing new until the
offer is confirmed and becomes stale again. Each person gets one e-mail listing all
their stale offers."""

from __future__ import annotations

import smtplib
from collections import defaultdict
from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import selectinload

from catalogue import freshness, members
from catalogue.db import set_actor
from catalogue.freshness import FreshnessReminder
from catalogue.models import Service

# send(settings, to, subject, body), raising OSError/SMTPException; echo(text, err=False)
Send = Callable[..., None]
Echo = Callable[..., None]


def _body(conf, services: list[Service]) -> str:
    base = conf.base_url.rstrip("/")
    lines = [
        "Bonjour,",
        "",
        f"Les offres suivantes, publiées sur « {conf.site_name} », n'ont pas été vérifiées "
        "depuis plus longtemps que prévu :",
        "",
    ]
    for s in services:
        lines.append(f"- {s.nom} ({s.structure.nom}) : à vérifier depuis le {freshness.due_on(s).strftime('%d/%m/%Y')}")
        lines.append(f"  Modifier : {base}/espace/services/{s.id}/modifier")
    structures = sorted({s.structure_id for s in services}, key=str)
    lines += [
        "",
        "Si rien n'a changé, cliquez sur « Rien n'a changé » dans le tableau de bord de votre structure :",
        *[f"  {base}/espace/structures/{sid}" for sid in structures],
        "",
        "Sinon, modifiez l'offre : la date de mise à jour suivra.",
        "",
        f"L'équipe du SPIE — {conf.departement_nom}",
    ]
    return "\n".join(lines)


def send_reminders(factory, conf, send: Send, echo: Echo, today: date | None = None,
                   dry_run: bool = False) -> dict:
    """Send the reminders due through `send` (the service's mailer), saying through
    `echo` what a dry run would send and what failed; returns counts."""
    today = today or date.today()
    counts = {"perimees": 0, "deja_relancees": 0, "sans_destinataire": 0, "courriels": 0, "echecs": 0}
    with factory() as session:
        stale = list(session.scalars(
            freshness.stale_services_query(today).options(selectinload(Service.structure))
        ))
        counts["perimees"] = len(stale)
        due = [s for s in stale if not freshness.already_reminded(session, s)]
        counts["deja_relancees"] = len(stale) - len(due)
        editors = members.editors_emails(session, {s.structure_id for s in due}) if due else {}
        by_person: dict[str, list[Service]] = defaultdict(list)
        for s in due:
            people = editors.get(s.structure_id, [])
            if not people:
                counts["sans_destinataire"] += 1
            for email in people:
                by_person[email].append(s)
        sent_for: dict = defaultdict(list)
        for email, services in sorted(by_person.items()):
            subject = (f"{len(services)} offre{'s' if len(services) > 1 else ''} à vérifier"
                       f" sur {conf.site_name}")
            if dry_run:
                echo(f"[essai] {email} : {subject}")
                continue
            try:
                send(conf, email, subject, _body(conf, services))
            except (OSError, smtplib.SMTPException) as exc:
                counts["echecs"] += 1
                echo(f"Échec de l'envoi à {email} : {exc}", err=True)
                continue
            counts["courriels"] += 1
            for s in services:
                sent_for[s.id].append(email)
        if not dry_run and sent_for:
            set_actor(session, "cli:reminders")
            for s in due:
                if s.id in sent_for:
                    session.add(FreshnessReminder(service_id=s.id, due_on=freshness.due_on(s), recipients=sent_for[s.id]))
            session.commit()
    return counts
