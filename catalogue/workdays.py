"""Working days: Monday to Friday, French public holidays excepted (the `holidays`
package; without it, weekends only — HOLIDAYS_KNOWN says which)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

try:  # pragma: no cover - the package is a dependency; the fallback is for odd installs
    import holidays as _holidays
except ImportError:  # pragma: no cover
    _holidays = None

HOLIDAYS_KNOWN = _holidays is not None


@cache
def _french_holidays(year: int) -> frozenset[date]:
    if _holidays is None:
        return frozenset()
    return frozenset(_holidays.country_holidays("FR", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _french_holidays(day.year)


def working_days_between(start: date, end: date) -> int:
    """The working days after `start` up to `end` included (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
