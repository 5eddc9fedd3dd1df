"""The e-mails of the orientations. They carry no personal datum of the person
(no name, no contact, no need, no message): only the offer, the structure, the step
and the link to the orientation's page, which asks for a login and logs the read.
A failed sending never undoes a step: the inbox and « Mes orientations » show it
anyway; the failure is counted and reported to the caller."""

from __future__ import annotations

import logging
import smtplib

from catalogue import orientation as orientations
from catalogue.orientation import REFUSAL_REASONS, Orientation
from web.mail import send_mail

log = logging.getLogger(__name__)


def _link(settings, o: Orientation) -> str:
    return f"{settings.base_url.rstrip('/')}/orientations/{o.public_id}"


def _offer(o: Orientation) -> str:
    return f"« {o.service.nom} »" if o.service else "une offre"


def _send(settings, to: list[str], subject: str, lines: list[str]) -> bool:
    body = "\n".join(["Bonjour,", "", *lines, "", f"L'équipe du SPIE — {settings.departement_nom}",
                      "", "Ce courriel ne contient aucune donnée personnelle : elles sont sur la page "
                      "de l'orientation, après connexion."])
    if not to:
        return True
    try:
        send_mail(settings, to, subject, body)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("orientation mail not sent: %s", exc.__class__.__name__)
        return False
    return True


def _receivers(session, o: Orientation) -> list[str]:
    return [u.email for u in orientations.receivers(session, o.structure_id)]


def _referent(o: Orientation) -> list[str]:
    return [o.referent.email] if o.referent is not None and o.referent.is_active else []


def orientation_sent(settings, session, o: Orientation) -> bool:
    """To the structure's members, and an acknowledgement to the referent."""
    ok = _send(settings, _receivers(session, o), f"Nouvelle orientation vers {o.structure.nom}", [
        f"Un professionnel vous oriente une personne pour l'offre {_offer(o)} de {o.structure.nom}.",
        "Acceptez-la, refusez-la en donnant le motif, ou demandez des informations :",
        f"  {_link(settings, o)}",
        "Toutes les orientations reçues : " + settings.base_url.rstrip("/") + "/orientations/recues",
    ])
    return _send(settings, _referent(o), "Votre orientation a été envoyée", [
        f"Votre orientation vers {o.structure.nom} ({_offer(o)}) a été transmise à ses membres.",
        "Vous serez prévenu de leur réponse. Suivre l'orientation :", f"  {_link(settings, o)}",
    ]) and ok


def orientation_decided(settings, o: Orientation, kind: str) -> bool:
    """To the referent: accepted, refused (with the reason from the list), or information asked."""
    if kind == "acceptee":
        subject, first = "Orientation acceptée", f"{o.structure.nom} a accepté votre orientation ({_offer(o)})."
    elif kind == "refusee":
        subject = "Orientation refusée"
        first = (f"{o.structure.nom} a refusé votre orientation ({_offer(o)}). Motif : "
                 f"{REFUSAL_REASONS.get(o.refusal_reason or '', 'non précisé')}.")
    else:
        subject = "Informations demandées sur votre orientation"
        first = f"{o.structure.nom} demande des informations sur votre orientation ({_offer(o)}) ; répondez sur la page :"
    return _send(settings, _referent(o), subject, [first, f"  {_link(settings, o)}"])


def orientation_answered(settings, session, o: Orientation) -> bool:
    """To the structure's members: the referent gave the information asked."""
    return _send(settings, _receivers(session, o), f"Réponse du référent — orientation vers {o.structure.nom}", [
        f"Le référent a répondu à votre demande d'informations sur l'orientation ({_offer(o)}).",
        f"  {_link(settings, o)}",
    ])


def reminder(settings, session, o: Orientation) -> tuple[bool, int]:
    """To the structure's members: an orientation waits for their answer."""
    to = _receivers(session, o)
    ok = _send(settings, to, f"Rappel : une orientation attend votre réponse ({o.structure.nom})", [
        f"Une orientation vers {o.structure.nom} ({_offer(o)}), envoyée le "
        f"{o.created_at.astimezone(orientations.PARIS):%d/%m/%Y}, attend toujours votre réponse.",
        "Acceptez-la, refusez-la en donnant le motif, ou demandez des informations :",
        f"  {_link(settings, o)}",
    ])
    return ok, len(to)
