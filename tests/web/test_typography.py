"""French typography through one helper (web/typography.py)."""

from datetime import UTC, date, datetime

import pytest

from web import typography as t


@pytest.mark.parametrize(("value", "expected"), [(0, "0"), (1500, "1\u202f500"), (1234567, "1\u202f234\u202f567")])
def test_numbers_have_french_thousands(value, expected):
    assert t.number(value) == expected


def test_percent_uses_a_comma_and_a_space():
    assert t.percent(32.1) == "32,1\u00a0%" or t.percent(32.1) == "32,1\u202f%" or t.percent(32.1) == "32,1 %"
    assert t.percent(28.6).startswith("28,6") and t.percent(0.286, ratio=True).startswith("28,6")
    assert t.percent(None) == "—"


@pytest.mark.parametrize(("n", "expected"), [(0, "0 offre"), (1, "1 offre"), (2, "2 offres"), (1500, "1\u202f500 offres")])
def test_plural_agreement(n, expected):
    assert t.plural(n, "offre") == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("Aubenton", "d'Aubenton"), ("Laon", "de Laon"), ("Le Havre", "du Havre"), ("Les Mureaux", "des Mureaux"),
    ("La Fère", "de La Fère"), ("Hirson", "d'Hirson"), ("Ham", "de Ham"), ("Auto-école sociale", "d'Auto-école sociale"),
    ("Étampes", "d'Étampes"), ("L'Abergement-Clémenciat", "de L'Abergement-Clémenciat"),
])
def test_de_is_elided_and_contracted(name, expected):
    assert t.de(name) == expected


def test_a_is_contracted():
    assert t.a("Le Cateau-Cambrésis") == "au Cateau-Cambrésis" and t.a("Laon") == "à Laon"
    assert t.a("Les Lilas") == "aux Lilas"


def test_times_are_shown_in_the_departements_time_zone():
    # 23:30 UTC on 4 December is 00:30 on 5 December in Paris.
    assert t.datetime_words(datetime(2026, 12, 4, 23, 30, tzinfo=UTC)) == "5 décembre 2026 à 00:30"
    assert t.datetime_words(datetime(2026, 7, 1, 10, 0)) == "1 juillet 2026 à 12:00"  # naive = UTC, summer time
    assert t.date_words(date(2026, 1, 2)) == "2 janvier 2026"


def test_pages_use_it(client, factories):
    factories.ServiceFactory(nom="Permis solidaire")
    page = client.get("/recherche?code_commune=02031").get_data(as_text=True).replace("&#39;", "'")  # Aubenton
    assert "un habitant d'Aubenton" in page and "habitant de Aubenton" not in page


def test_dates_of_moments_are_those_of_paris():
    # A record created at 23:30 UTC on 4 December was created on the 5th in Paris.
    assert t.short_date(datetime(2026, 12, 4, 23, 30, tzinfo=UTC)) == "05/12/2026"
    assert t.short_datetime(datetime(2026, 12, 4, 23, 30, tzinfo=UTC)) == "05/12/2026 00:30"
    assert t.short_date(date(2026, 12, 4)) == "04/12/2026" and t.short_date(None) == "—"


def test_no_template_formats_dates_or_percentages_by_hand():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "web/templates"
    for path in root.rglob("*.html"):
        text = path.read_text()
        assert ".strftime(" not in text or "astimezone(paris)" in text, path
        assert "is not none else '—' }} %" not in text, path
        assert '"{:,}".format(' not in text, path
