"""Opening hours in French words, from the OpenStreetMap `opening_hours` syntax.

Handles the common forms (day lists and ranges, time ranges, `off`, `PH off`,
`24/7`): "Mo-Fr 09:00-12:00,14:00-17:00; PH off" becomes "du lundi au vendredi de
9 h à 12 h et de 14 h à 17 h ; fermé les jours fériés". `describe` returns None for
anything else, and the page shows the raw expression instead.
"""

from __future__ import annotations

import re

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
        return "ouvert 24 h sur 24, 7 jours sur 7"
    parts = []
    for rule in (r.strip() for r in expression.split(";")):
        if not rule:
            continue
        words = _dated(rule) if _DATED.match(rule) else _rule(rule)
        if words is None:
            return None
        parts.append(words)
    return " ; ".join(parts) if parts else None


def _rule(rule: str) -> str | None:
    tokens = rule.split(None, 1)
    if len(tokens) != 2:
        return None
    selector, times = tokens
    times = times.strip()
    if selector == "PH":
        if times in ("off", "closed"):
            return "fermé les jours fériés"
        hours = _times(times)
        return f"les jours fériés {hours}" if hours else None
    days = _days(selector)
    if days is None:
        return None
    if times in ("off", "closed"):
        return f"fermé {days}"
    hours = _times(times)
    if hours is None:
        return None
    return f"{days} {hours}"


def _date(year: str, month: str, day: str) -> str:
    number = int(day)
    return f"{'1er' if number == 1 else number} {_MONTHS[month]} {year}"


def _dated(rule: str) -> str | None:
    """"2031 Jul 14-2031 Aug 18 off" → "du 14 juillet 2031 au 18 août 2031 : fermé"."""
    found = _DATED.match(rule)
    y1, m1, d1, y2, m2, d2, onwards, rest = found.groups()
    dates = f"à partir du {_date(y1, m1, d1)}" if onwards else f"du {_date(y1, m1, d1)} au {_date(y2, m2, d2)}"
    words = "fermé" if rest.strip() in ("off", "closed") else _rule(rest.strip())
    return f"{dates} : {words}" if words else None


def _days(selector: str) -> str | None:
    """"Mo-Fr" → "du lundi au vendredi"; "Tu,Th" → "le mardi et le jeudi"."""
    pieces = []
    for item in selector.split(","):
        found = _DAY_RANGE.match(item)
        if not found:
            return None
        start, end = found.groups()
        if end is None:
            pieces.append(f"le {DAYS[start]}")
        elif _ORDER.index(end) - _ORDER.index(start) == 1:
            pieces.append(f"le {DAYS[start]} et le {DAYS[end]}")
        else:
            pieces.append(f"du {DAYS[start]} au {DAYS[end]}")
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
        pieces.append(f"de {_hour(h1, m1)} à {_hour(h2, m2)}")
    return _join(pieces)


def _hour(h: int, m: int) -> str:
    return f"{h} h" if m == 0 else f"{h} h {m:02d}"


def _join(pieces: list[str]) -> str:
    if len(pieces) == 1:
        return pieces[0]
    return ", ".join(pieces[:-1]) + " et " + pieces[-1]
