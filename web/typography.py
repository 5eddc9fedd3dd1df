"""French typography, in one place: numbers and percentages in Babel's French
formats (« 1 500 », « 32,1 % »), plural agreement (0 and 1 take the singular),
elision and contraction of « de » and « à » before a name (« d'Aubenton », « du
Havre », « des Mureaux », « au Cateau »), and dates and times in the département's
time zone. Registered as Jinja filters by `init_app`.

Numbers and dates follow the language of the page (web/i18n.py: a public page in
English writes « 1,500 » and « 4 December 2026 »); outside a request, and on the
back-office pages, French. Elision and plural words stay French helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from geo.names import with_a as a
from geo.names import with_de as de

LOCALE = "fr_FR"
_LOCALES = {"fr": "fr_FR", "en": "en_GB", "ar": "ar", "uk": "uk_UA", "es": "es_ES", "ro": "ro_RO", "ru": "ru_RU", "tr": "tr_TR"}


def _locale() -> str:
    """The Babel locale of the page (French outside a request)."""
    from web import i18n  # web.i18n imports flask_babel; typography stays importable alone

    return _LOCALES.get(i18n.current(), LOCALE)
TIME_ZONE = ZoneInfo("Europe/Paris")

# Babel parses the locale and the pattern at each call (80 µs; a results page writes
# a hundred counts): the same number in the same locale is written once.
_decimal = lru_cache(maxsize=8192, typed=True)(format_decimal)
_date = lru_cache(maxsize=4096, typed=True)(format_date)  # likewise for dates


def number(value: int | float | None, digits: int | None = None) -> str:
    """« 1 500 », « 12,5 » (a narrow no-break space between thousands)."""
    if value is None:
        return "—"
    if digits is not None:
        return _decimal(round(value, digits), format=f"#,##0.{'0' * digits}" if digits else "#,##0",
                        locale=_locale())
    return _decimal(value, locale=_locale())


def percent(value: float | None, digits: int = 1, *, ratio: bool = False) -> str:
    """« 32,1 % » from 32.1 (or from 0.321 with ratio=True)."""
    if value is None:
        return "—"
    fraction = value if ratio else value / 100
    return format_percent(fraction, format="#,##0" + ("." + "0" * digits if digits else "") + " %", locale=_locale())


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """« 0 offre », « 1 offre », « 1 500 offres » (French: 0 and 1 are singular)."""
    word = singular if abs(count) < 2 else (plural_form or singular + "s")
    return f"{number(count)} {word}"


def local(moment: datetime | None) -> datetime | None:
    """A moment in the département's time zone (a naive value is taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TIME_ZONE)


def date_words(value) -> str:
    """« 4 décembre 2026 »."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = local(value).date()
    return _date(value, format="d MMMM y", locale=_locale())


def datetime_words(moment: datetime | None) -> str:
    """« 4 décembre 2026 à 23:40 », in the département's time zone."""
    if moment is None:
        return "—"
    return format_datetime(local(moment), format="d MMMM y 'à' HH:mm", tzinfo=TIME_ZONE, locale=LOCALE)


def short_date(value) -> str:
    """« 04/12/2026 »; a moment is first put in the département's time zone (a
    record created at 23:30 UTC on the 4th was created on the 5th in Paris)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = local(value)
    return value.strftime("%d/%m/%Y")


def short_datetime(moment: datetime | None) -> str:
    """« 05/12/2026 00:30 », in the département's time zone."""
    if moment is None:
        return "—"
    return local(moment).strftime("%d/%m/%Y %H:%M")


def init_app(app) -> None:
    app.jinja_env.filters.update(
        nombre=number, pourcentage=percent, pluriel=plural, de=de, a=a,
        date_fr=date_words, date_heure_fr=datetime_words, date_court=short_date, date_heure_court=short_datetime,
    )
