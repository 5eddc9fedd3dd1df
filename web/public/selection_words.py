"""The words of the selection (issue 19, point 1) in the page's language (issue 20).

catalogue.selection raises its errors in French (it cannot import flask_babel): each
is recognised here by its field and its French text, and said again as a gettext
message whose French is the same text. An error not in the table stays as raised."""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import gettext

from catalogue import selection as sel
from web import typography
from web.i18n import N_

# (field, the French message of catalogue.selection as a pattern) -> the message to
# translate, with the same placeholders as the pattern's named groups.
ERRORS: list[tuple[str, re.Pattern, str]] = [
    ("offre", re.compile(r"aucune offre indiquée\."), N_("offre : aucune offre indiquée.")),
    ("offre", re.compile(r"« (?P<valeur>.*) » n'est pas un identifiant d'offre\."),
     N_("offre : « %(valeur)s » n'est pas un identifiant d'offre.")),
    ("offre", re.compile(r"« (?P<valeur>.*) » n'est pas une offre publiée \(identifiant inconnu\)\."),
     N_("offre : « %(valeur)s » n'est pas une offre publiée (identifiant inconnu).")),
    ("offre", re.compile(r"une sélection compte (?P<max>\d+) offres au plus : retirez-en une avant d'en ajouter une autre\."),
     N_("offre : une sélection compte %(max)s offres au plus : retirez-en une avant d'en ajouter une autre.")),
    ("offre", re.compile(r"« (?P<valeur>.*) » n'est pas dans la sélection\."),
     N_("offre : « %(valeur)s » n'est pas dans la sélection.")),
    ("sens", re.compile(r"« (?P<valeur>.*) » : « haut » ou « bas » attendu\."),
     N_("sens : « %(valeur)s » : « haut » ou « bas » attendu.")),
    ("lien", re.compile(r"ce lien de sélection est mal formé \(jeton invalide\) : vérifiez qu'il a été copié en entier\."),
     N_("lien : ce lien de sélection est mal formé (jeton invalide) : vérifiez qu'il a été copié en entier.")),
    ("selection", re.compile(r"la sélection est vide : ajoutez au moins une offre avant de la partager\."),
     N_("selection : la sélection est vide : ajoutez au moins une offre avant de la partager.")),
    ("selection", re.compile(r"une sélection compte (?P<max>\d+) offres au plus\."),
     N_("selection : une sélection compte %(max)s offres au plus.")),
]


def error(exc: sel.SelectionError) -> str:
    """The error in the page's language (French: the text raised, unchanged)."""
    for field, pattern, message in ERRORS:
        found = pattern.fullmatch(exc.message) if field == exc.field else None
        if found:
            return gettext(message, **found.groupdict())
    return str(exc)


def when(moment: datetime | None) -> str:
    """« 4 décembre 2026 à 23:40 » in the page's language (the département's time)."""
    if moment is None:
        return "—"
    return gettext("%(date)s à %(heure)s", date=typography.date_words(moment),
                   heure=typography.local(moment).strftime("%H:%M"))
