"""Opening hours in the OpenStreetMap `opening_hours` syntax (parsed by the
`opening-hours-py` package, which knows French public holidays)."""

from __future__ import annotations

import re
from datetime import datetime

import opening_hours

TIMEZONE = "Europe/Paris"


class HoursError(ValueError):
    """A malformed opening_hours expression; the message says where."""


def parse(expression: str) -> opening_hours.OpeningHours:
    try:
        return opening_hours.OpeningHours(expression)
    except Exception as exc:  # the package raises its own ParserError
        raise HoursError(_first_line(str(exc))) from exc


def validate(expression: str) -> str:
    """The expression, stripped, or HoursError."""
    expression = expression.strip()
    parse(expression)
    return expression


def is_open(expression: str, at: datetime) -> bool | None:
    """Whether open at `at` (naive local time of Paris); None if unparseable."""
    try:
        oh = parse(expression)
    except HoursError:
        return None
    return oh.is_open(at.replace(tzinfo=None))


def next_change(expression: str, at: datetime) -> datetime | None:
    """When the state at `at` (naive local time of Paris) next changes: the next
    opening when closed, the closing when open; None if unparseable or never."""
    try:
        oh = parse(expression)
        return oh.next_change(at.replace(tzinfo=None))
    except (HoursError, ValueError, OverflowError):
        return None


def _first_line(message: str) -> str:
    found = re.search(r"--> (\d+):(\d+)", message)
    where = f" à la position {found.group(2)}" if found else ""
    return f"horaires au format OpenStreetMap invalides : erreur de syntaxe{where}"
