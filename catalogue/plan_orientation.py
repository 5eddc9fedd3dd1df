"""An action « orientation » of a SPIE prescription's plan, sent as an orientation
(catalogue.orientation) to the chosen offer's structure: the person's data come from
the prescription, the referent is the prescriber (who follows the answer in « Mes
orientations »), the consent is the one recorded on the prescription (its purpose
includes the plan's orientations), and the need is the action's barrier as it reads
in the offer's thematiques."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalogue import vocabulary
from catalogue.accounts import User
from catalogue.errors import ValidationError
from catalogue.models import Service
from catalogue.orientation import Orientation, Person, create_orientation, need_choices


def needs_for(service: Service, barrier: str | None) -> list[str]:
    """The offer's thematiques within the barrier (a SPIE thematic), else the first."""
    choices = list(need_choices(service))
    wanted = set(vocabulary.expand_thematiques([barrier])) if barrier else set()
    return [c for c in choices if c in wanted][:5] or choices[:1]


def contact_of(prescription) -> str:
    """How the structure reaches the person: their own contact, or through the referent."""
    return prescription.person_contact or f"Par l'intermédiaire du référent : {prescription.referent_email}"


def orient(session: Session, prescription, actor: User, service: Service, barrier: str | None,
           description: str | None) -> Orientation:
    """The orientation of one plan action; a refusal (no receiver, an offer
    professionals cannot mobilise…) is raised on the field « offre »."""
    referent = (session.get(User, prescription.prescriber_id) if prescription.prescriber_id else None) or actor
    try:
        return create_orientation(
            session, referent=referent, service=service,
            person=Person(prescription.person_name, contact_of(prescription)),
            needs=needs_for(service, barrier), message=description, consent=True,
            source=f"prescription:{prescription.public_id}",
        )
    except ValidationError as exc:
        reasons = [f"{field} : {m}" if field != "offre" else m
                   for field, messages in exc.errors.items() for m in messages]
        raise ValidationError({"offre": [f"orientation impossible : {'; '.join(reasons)}"]}) from exc
