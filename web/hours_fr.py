"""Opening hours in words (French, or the public page's language), from the OpenStreetMap `opening_hours` syntax.

Handles the common forms (day lists and ranges, time ranges, `off`, `PH off`,
`24/7`): "Mo-Fr 09:00-12:00,14:00-17:00; PH off" becomes "du lundi au vendredi de
9 h à 12 h et de 14 h à 17 h ; fermé les jours fériés". `describe` returns None for
anything else, and the page shows the raw expression instead.

The sentences are gettext messages (web/translations): on a public page in another
language, day and month names come from Babel's locale data and the phrases from the
translation catalogue; outside a request, French.
"""

from __future__ import annotations

import re

from babel.dates import get_day_names, get_month_names
from flask_babel import gettext as _

from web import i18n

DAYS = {
    "Mo": "lundi",
    "Tu": "mardi",
    "We": "mercredi",
    "Th": "jeudi",
    "Fr": "vendredi",
    "Sa": "samedi",
    "Su": "dimanche",
}
_ORDER = list(DAYS)
_TIME = r"(\d{1,2}):(\d{2})"
_TIME_RANGE = re.compile(rf"^{_TIME}-{_TIME}$")
_DAY_RANGE = re.compile(r"^(Mo|Tu|We|Th|Fr|Sa|Su)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?$")
MONTH_NAMES = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
               "octobre", "novembre", "décembre")
_MONTHS = dict(zip(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
                   MONTH_NAMES, strict=True))
_DATE = r"(\d{4}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{2})"
# A dated rule (a closure, temporary hours): "2031 Dec 20-2032 Jan 03 We 10:00-12:00",
# "2031 Jul 14+ off".
_DATED = re.compile(rf"^{_DATE}(?:-{_DATE}|(\+)) (.+)$")


def describe(expression: str | None) -> str | None:
    """The expression in French words, or None when it is not one of the forms
    handled (the caller then shows the raw expression)."""
    if not expression or not expression.strip():
        return None
    expression = expression.strip()
    if expression == "24/7":
        return _("ouvert 24 h sur 24, 7 jours sur 7")
    parts = []
    for rule in (r.strip() for r in expression.split(";")):
        if not rule:
            continue
        words = _dated(rule) if _DATED.match(rule) else _rule(rule)
        if words is None:
            return None
        parts.append(words)
    return _(" ; ").join(parts) if parts else None


def _rule(rule: str) -> str | None:
    tokens = rule.split(None, 1)
    if len(tokens) != 2:
        return None
    selector, times = tokens
    times = times.strip()
    if selector == "PH":
        if times in ("off", "closed"):
            return _("fermé les jours fériés")
        hours = _times(times)
        return _("les jours fériés %(heures)s", heures=hours) if hours else None
    days = _days(selector)
    if days is None:
        return None
    if times in ("off", "closed"):
        return _("fermé %(jours)s", jours=days)
    hours = _times(times)
    if hours is None:
        return None
    return _("%(jours)s %(heures)s", jours=days, heures=hours)


def _date(year: str, month: str, day: str) -> str:
    number = int(day)
    lang = i18n.current()
    if lang != "fr":
        month_number = list(_MONTHS).index(month) + 1
        return f"{number} {get_month_names('wide', locale=lang)[month_number]} {year}"
    return f"{'1er' if number == 1 else number} {_MONTHS[month]} {year}"


def _dated(rule: str) -> str | None:
    """"2031 Jul 14-2031 Aug 18 off" → "du 14 juillet 2031 au 18 août 2031 : fermé"."""
    found = _DATED.match(rule)
    y1, m1, d1, y2, m2, d2, onwards, rest = found.groups()
    if onwards:
        dates = _("à partir du %(date)s", date=_date(y1, m1, d1))
    else:
        dates = _("du %(debut)s au %(fin)s", debut=_date(y1, m1, d1), fin=_date(y2, m2, d2))
    words = _("fermé") if rest.strip() in ("off", "closed") else _rule(rest.strip())
    return _("%(dates)s : %(horaires)s", dates=dates, horaires=words) if words else None


def _days(selector: str) -> str | None:
    """"Mo-Fr" → "du lundi au vendredi"; "Tu,Th" → "le mardi et le jeudi"."""
    pieces = []
    for item in selector.split(","):
        found = _DAY_RANGE.match(item)
        if not found:
            return None
        start, end = found.groups()
        if end is None:
            pieces.append(_("le %(jour)s", jour=_day(start)))
        elif _ORDER.index(end) - _ORDER.index(start) == 1:
            pieces.append(_("le %(jour)s et le %(autre)s", jour=_day(start), autre=_day(end)))
        else:
            pieces.append(_("du %(debut)s au %(fin)s", debut=_day(start), fin=_day(end)))
    return _join(pieces)


def _times(times: str) -> str | None:
    """"09:00-12:00,14:00-17:30" → "de 9 h à 12 h et de 14 h à 17 h 30"."""
    pieces = []
    for item in times.split(","):
        found = _TIME_RANGE.match(item.strip())
        if not found:
            return None
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
            return None
        pieces.append(_("de %(debut)s à %(fin)s", debut=_hour(h1, m1), fin=_hour(h2, m2)))
    return _join(pieces)


def _day(code: str) -> str:
    """A day's name: French from DAYS, another language from Babel's data."""
    lang = i18n.current()
    if lang == "fr":
        return DAYS[code]
    return get_day_names("wide", locale=lang)[_ORDER.index(code)]


def _hour(h: int, m: int) -> str:
    if m == 0:
        return _("%(h)s h", h=h)
    return _("%(h)s h %(m)s", h=h, m=f"{m:02d}")


def _join(pieces: list[str]) -> str:
    if len(pieces) == 1:
        return pieces[0]
    return ", ".join(pieces[:-1]) + _(" et ") + pieces[-1]
