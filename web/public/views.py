"""The public pages as plain dicts: what a person sees of a service, in words.
Templates render these dicts; nothing here knows about HTTP."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import humanize
from flask_babel import ngettext

from catalogue import hours, vocabulary
from catalogue.models import LocationPrecision, Service, Structure
from catalogue.public_queries import eligibility_words
from web import hours_fr, i18n, typography
from web.public import wording

PARIS = ZoneInfo("Europe/Paris")
_ = i18n.translate


def now_paris() -> datetime:
    """Naive local time of Paris (what opening hours are written in)."""
    return datetime.now(PARIS).replace(tzinfo=None)


def labels(codes: list[str] | None, vocabulary_labels: dict[str, str]) -> list[str]:
    return [vocabulary_labels.get(c, c) for c in codes or []]


def last_update(service: Service) -> date | None:
    """The later of the source's date_maj and the partner's last confirmation."""
    dates = [d for d in (service.date_maj, service.confirmed_at.date() if service.confirmed_at else None) if d]
    return max(dates) if dates else None


def freshness(service: Service, today: date) -> dict:
    """"mis à jour il y a 3 mois", and whether it is past its update frequency."""
    updated = last_update(service)
    if updated is None:
        return {"date": None, "words": _("date de mise à jour inconnue"), "stale": True}
    words = _("mis à jour aujourd'hui") if updated >= today else _(
        "mis à jour %(il_y_a)s", il_y_a=_ago(max((today - updated).days, 0)))
    stale = (today - updated).days > (service.frequence_maj_jours or 180)
    return {"date": updated, "words": words, "stale": stale}


def _ago(days: int) -> str:
    """« il y a 3 mois » (humanize's French words; the catalogue's elsewhere)."""
    return _ago_words(days, i18n.current())


@lru_cache(maxsize=4096)  # the words of a number of days in a language, kept per process
def _ago_words(days: int, lang: str) -> str:
    if lang == "fr":
        humanize.i18n.activate("fr_FR")
        return humanize.naturaltime(timedelta(days=days))
    if days < 30:
        return ngettext("il y a %(num)s jour", "il y a %(num)s jours", days)
    if days < 365:
        return ngettext("il y a %(num)s mois", "il y a %(num)s mois", days // 30)
    return ngettext("il y a %(num)s an", "il y a %(num)s ans", days // 365)


def distance_words(distance_m: float | None, modes_accueil: list[str]) -> str | None:
    if distance_m is not None:
        if distance_m < 1000:
            return _("à %(distance)s m", distance=int(round(distance_m, -1)))
        return _("à %(distance)s km", distance=typography.number(distance_m / 1000, 1))
    if vocabulary.A_DISTANCE in (modes_accueil or []):
        return _("à distance")
    return None


def is_remote_only(service: Service) -> bool:
    modes = service.modes_accueil or []
    return vocabulary.A_DISTANCE in modes and vocabulary.EN_PRESENTIEL not in modes


def mobilisation_words(service: Service) -> dict:
    who = labels(service.mobilisable_par, vocabulary.mobilisable_par())
    how = labels(service.modes_mobilisation, vocabulary.modes_mobilisation())
    return {"par": who, "comment": how, "precisions": service.mobilisation_precisions}


DAY_NAMES = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


def _clock(moment: datetime) -> str:
    """« 14 h », « 8 h 30 »."""
    return hours_fr._hour(moment.hour, moment.minute)


def _when(moment: datetime, at: datetime) -> str:
    """« à 14 h », « demain à 9 h », « lundi à 9 h », « le 12/01 à 9 h »."""
    days = (moment.date() - at.date()).days
    if days == 0:
        return _("à %(heure)s", heure=_clock(moment))
    if days == 1:
        return _("demain à %(heure)s", heure=_clock(moment))
    if days < 7:
        day = hours_fr._day(hours_fr._ORDER[moment.weekday()])
        return _("%(jour)s à %(heure)s", jour=day, heure=_clock(moment))
    return _("le %(date)s à %(heure)s", date=moment.strftime("%d/%m"), heure=_clock(moment))


def open_state(expression: str | None, at: datetime) -> dict | None:
    """Open or closed at `at` and until when, in words: « Ouvert jusqu'à 12 h »,
    « Fermé · ouvre à 14 h ». None without hours or when they cannot be read."""
    if not expression:
        return None
    state = _open_state(expression, at, i18n.current())
    return dict(state) if state else state


@lru_cache(maxsize=512)  # a page's results often share their hours; `at` is the request's moment
def _open_state(expression: str, at: datetime, lang: str) -> dict | None:
    is_open = hours.is_open(expression, at)
    if is_open is None:
        return None
    change = hours.next_change(expression, at)
    if change is not None and (change - at).days > 60:
        change = None  # « never », as far as a person cares
    if is_open:
        if change is None:
            words = _("Ouvert maintenant")
        elif change.date() == at.date():
            words = _("Ouvert jusqu'à %(heure)s", heure=_clock(change))
        else:
            words = _("Ouvert, ferme %(quand)s", quand=_when(change, at))
    else:
        words = _("Fermé · ouvre %(quand)s", quand=_when(change, at)) if change else _("Fermé")
    return {"ouvert": is_open, "mots": words}


def hours_words(expression: str | None, at: datetime) -> dict | None:
    if not expression:
        return None
    state = open_state(expression, at)
    return {
        "brut": expression,
        "mots": hours_fr.describe(expression),
        "ouvert": state["ouvert"] if state else None,
        "etat": state["mots"] if state else None,
    }


def _zone_name(words: str) -> str:
    """A zone's name without the French preposition web/public/queries.py gives it:
    « de la CA du Pays de Laon » → « CA du Pays de Laon », « du Havre » → « Le Havre »."""
    if words.startswith("du département : "):
        return _("département : %(nom)s", nom=words.removeprefix("du département : "))
    for prefix, article in (("de la ", ""), ("de l'", ""), ("d'", ""), ("du ", "Le "), ("des ", "Les "), ("de ", "")):
        if words.startswith(prefix):
            return article + words[len(prefix):]
    return words


def eligibility(zone: list[str], names: dict[str, str]) -> str:
    """« Éligible : habitants de Laon », in the page's language (place names as they are)."""
    if i18n.current() == "fr":
        return eligibility_words(zone, names)
    if not zone:
        return _("Éligible : tout le monde, sans condition de lieu")
    if "france" in zone:
        return _("Éligible : habitants de toute la France")
    words = [_zone_name(names[code]) if code in names else _("zone %(code)s", code=code) for code in zone]
    listed = ", ".join(words[:-1]) + _(" et ") + words[-1] if len(words) > 1 else words[0]
    return _("Éligible : habitants de %(zones)s", zones=listed)


def service_summary(service: Service, zone_names: dict[str, str], today: date, distance_m: float | None = None,
                    at: datetime | None = None) -> dict:
    """One result of a list: what a referent needs to choose, in words; with `at`
    (naive local time of Paris), whether it is open then."""
    on_site = not is_remote_only(service)
    return {
        "id": str(service.id),
        "nom": service.nom,
        "structure": {"id": str(service.structure.id), "nom": service.structure.nom},
        "commune": service.commune,
        "thematiques": labels(service.thematiques, vocabulary.thematiques()),
        "spie": sorted(
            {g.label for g in (vocabulary.spie_group_of(t) for t in service.thematiques or []) if g}
        ),
        # (code, label) of its SPIE thematics, in their rank order (icons of the easy-to-read mode).
        "spie_codes": [(g.code, g.label) for g in sorted(
            {g for g in (vocabulary.spie_group_of(t) for t in service.thematiques or []) if g},
            key=lambda g: g.rank)],
        "distance": distance_words(distance_m, service.modes_accueil),
        "a_distance": is_remote_only(service),
        "eligibilite": eligibility(service.zone_eligibilite or [], zone_names),
        "mobilisation": mobilisation_words(service),
        # The same in the public's words (catalogue/wording.py).
        "demande": {"qui": wording.who_asks(service.mobilisable_par),
                    "comment": wording.how_to_ask(service.modes_mobilisation)},
        "frais": vocabulary.frais().get(service.frais or "", None),
        "type": vocabulary.types().get(service.type or "", None),
        "telephone": service.telephone,
        "courriel": service.courriel,
        "fraicheur": freshness(service, today),
        "demo": service.source == "demo",
        "adresse": (_address(service) or _address(service.structure)) if on_site else None,
        "etat": open_state(service.horaires_accueil or service.structure.horaires_accueil, at) if at else None,
    }


def message_words(service: Service, today: date) -> dict | None:
    """The service's temporary message with its dates, until its end."""
    if not service.message_temporaire or (service.message_fin and service.message_fin < today):
        return None
    start, end = service.message_debut, service.message_fin
    months = list(hours_fr.MONTH_NAMES)
    if i18n.current() == "fr":
        say = lambda d: f"{'1er' if d.day == 1 else d.day} {months[d.month - 1]} {d.year}"  # noqa: E731
    else:
        say = typography.date_words
    if start and end:
        dates = _("du %(debut)s au %(fin)s", debut=say(start), fin=say(end))
    elif start:
        dates = _("à partir du %(date)s", date=say(start))
    else:
        dates = _("jusqu'au %(date)s", date=say(end)) if end else ""
    return {"texte": service.message_temporaire, "dates": dates}


def service_detail(service: Service, zone_names: dict[str, str], at: datetime) -> dict:
    """Everything known of a service, in words."""
    summary = service_summary(service, zone_names, at.date(), at=at)
    structure: Structure = service.structure
    summary.update(
        {
            "description": service.description,
            "type": vocabulary.types().get(service.type or "", service.type),
            "frais_precisions": service.frais_precisions,
            "publics": wording.publics(service.publics),
            "publics_precisions": service.publics_precisions,
            "conditions_acces": service.conditions_acces,
            "modes_accueil": wording.modes_accueil(service.modes_accueil),
            "adresse": _address(service) or _address(structure),
            "lieu_approximatif": service.location_precision == LocationPrecision.COMMUNE,
            "horaires": hours_words(service.horaires_accueil or structure.horaires_accueil, at),
            "message": message_words(service, at.date()),
            "contact_nom": service.contact_nom_prenom,
            "telephone": service.telephone or structure.telephone,
            "courriel": service.courriel or structure.courriel,
            "lien_mobilisation": service.lien_mobilisation,
            "volume_horaire_hebdomadaire": service.volume_horaire_hebdomadaire,
            "nombre_semaines": service.nombre_semaines,
            "source": service.source,
            "origine": wording.origin(service.source, structure.nom),
            "lien_source": service.lien_source,
            "zone": list(service.zone_eligibilite or []),
            "structure": {
                "id": str(structure.id),
                "nom": structure.nom,
                "site_web": structure.site_web,
                "telephone": structure.telephone,
                "courriel": structure.courriel,
                "adresse": _address(structure),
                "accessibilite_lieu": structure.accessibilite_lieu,
                "reseaux_porteurs": labels(structure.reseaux_porteurs, vocabulary.reseaux_porteurs()),
            },
        }
    )
    return summary


def _address(record) -> str | None:
    parts = [record.adresse, record.complement_adresse]
    town = " ".join(p for p in (record.code_postal, record.commune) if p)
    lines = [p for p in parts if p] + ([town] if town else [])
    return ", ".join(lines) or None
