"""The e-mails of the orientations, as text: who receives what. They carry no
personal datum of the person (no name, no contact, no need, no message): only the
offer, the structure, the step and the link to the orientation's page, which asks
for a login and logs the read. Sending them is web.orientation.notify's."""

from __future__ import annotations

from dataclasses import dataclass

from catalogue import orientation as orientations
from catalogue.orientation import REFUSAL_REASONS, Orientation


@dataclass(frozen=True)
class Mail:
    to: list[str]
    subject: str
    lines: list[str]

    def body(self, signature: str) -> str:
        return "\n".join(["Bonjour,", "", *self.lines, "", signature, "",
                          "Ce courriel ne contient aucune donnée personnelle : elles sont sur la page "
                          "de l'orientation, après connexion."])


def link(base_url: str, o: Orientation) -> str:
    return f"{base_url.rstrip('/')}/orientations/{o.public_id}"


def _offer(o: Orientation) -> str:
    return f"« {o.service.nom} »" if o.service else "une offre"


def receivers(session, o: Orientation) -> list[str]:
    return [u.email for u in orientations.receivers(session, o.structure_id)]


def referent(o: Orientation) -> list[str]:
    return [o.referent.email] if o.referent is not None and o.referent.is_active else []


def sent(session, o: Orientation, base_url: str) -> list[Mail]:
    """To the structure's members, and an acknowledgement to the referent."""
    return [
        Mail(receivers(session, o), f"Nouvelle orientation vers {o.structure.nom}", [
            f"Un professionnel vous oriente une personne pour l'offre {_offer(o)} de {o.structure.nom}.",
            "Acceptez-la, refusez-la en donnant le motif, ou demandez des informations :",
            f"  {link(base_url, o)}",
            "Toutes les orientations reçues : " + base_url.rstrip("/") + "/orientations/recues",
        ]),
        Mail(referent(o), "Votre orientation a été envoyée", [
            f"Votre orientation vers {o.structure.nom} ({_offer(o)}) a été transmise à ses membres.",
            "Vous serez prévenu de leur réponse. Suivre l'orientation :", f"  {link(base_url, o)}",
        ]),
    ]


def decided(o: Orientation, kind: str, base_url: str) -> Mail:
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
    return Mail(referent(o), subject, [first, f"  {link(base_url, o)}"])


def answered(session, o: Orientation, base_url: str) -> Mail:
    """To the structure's members: the referent gave the information asked."""
    return Mail(receivers(session, o), f"Réponse du référent — orientation vers {o.structure.nom}", [
        f"Le référent a répondu à votre demande d'informations sur l'orientation ({_offer(o)}).",
        f"  {link(base_url, o)}",
    ])


def reminder(session, o: Orientation, base_url: str) -> Mail:
    """To the structure's members: an orientation waits for their answer."""
    return Mail(receivers(session, o), f"Rappel : une orientation attend votre réponse ({o.structure.nom})", [
        f"Une orientation vers {o.structure.nom} ({_offer(o)}), envoyée le "
        f"{o.created_at.astimezone(orientations.PARIS):%d/%m/%Y}, attend toujours votre réponse.",
        "Acceptez-la, refusez-la en donnant le motif, ou demandez des informations :",
        f"  {link(base_url, o)}",
    ])
