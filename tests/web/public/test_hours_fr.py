import pytest

from web.hours_fr import describe


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        (
            "Mo-Fr 09:00-12:00,14:00-17:00; PH off",
            "du lundi au vendredi de 9 h à 12 h et de 14 h à 17 h ; fermé les jours fériés",
        ),
        ("Tu,Th 14:00-17:00", "le mardi et le jeudi de 14 h à 17 h"),
        ("We 09:00-12:00; Sa 09:00-12:00", "le mercredi de 9 h à 12 h ; le samedi de 9 h à 12 h"),
        (
            "Mo-Th 08:30-12:30,13:30-17:00; Fr 08:30-12:00; PH off",
            "du lundi au jeudi de 8 h 30 à 12 h 30 et de 13 h 30 à 17 h ; le vendredi de 8 h 30 à 12 h ; "
            "fermé les jours fériés",
        ),
        ("Mo-Tu 10:00-11:00", "le lundi et le mardi de 10 h à 11 h"),
        ("Mo,We,Fr 10:00-11:00; Su off", "le lundi, le mercredi et le vendredi de 10 h à 11 h ; fermé le dimanche"),
        ("24/7", "ouvert 24 h sur 24, 7 jours sur 7"),
        (
            "Mo 09:00-12:00; 2031 Dec 20-2032 Jan 03 off; 2031 Dec 20-2032 Jan 03 We 10:00-12:00; 2031 Jul 01+ off",
            "le lundi de 9 h à 12 h ; du 20 décembre 2031 au 3 janvier 2032 : fermé ; "
            "du 20 décembre 2031 au 3 janvier 2032 : le mercredi de 10 h à 12 h ; à partir du 1er juillet 2031 : fermé",
        ),
    ],
)
def test_common_forms_in_french_words(expression, words):
    assert describe(expression) == words


@pytest.mark.parametrize(
    "expression",
    ["Mo-Fr 09:00-12:00 || \"sur rendez-vous\"", "Jan-Mar Mo 10:00-12:00", "week 1-53/2 Fr 09:00-12:00", "Mo 25:00-26:00", "", None],
)
def test_other_forms_fall_back_to_none(expression):
    assert describe(expression) is None
