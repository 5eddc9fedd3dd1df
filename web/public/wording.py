"""The words of the public pages: the one table where a professional term of the
national standard (data·inclusion v1 labels, source codes) gets the plain French a
person looking for help understands. Professional pages (back-office, CTO,
pilotage) keep the standard's labels. Reviewed once, as a table: each entry says
what the standard writes and what the public reads.

Headings and sentences of the public templates follow the same choices:
« Comment en bénéficier » (not « Comment la mobiliser »), « Qui peut faire la
demande » (not « Qui peut la mobiliser »), EPCI names spelled out
(catalogue/public_queries.py, geo/zones.py), no source code shown.

Translated (issue #20): the sentences here are gettext messages (`lazy_gettext`,
evaluated when a page asks for them, in its language); the plain labels of publics
and modes d'accueil are data labels, translated by the templates' `vocab` filter
(web/i18n.py), like the standard's own labels."""

from __future__ import annotations

from functools import lru_cache

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from catalogue import vocabulary
from web import i18n, typography

# mobilisable_par: who may ask for the service.
WHO_ASKS = {
    "usagers": _l("vous-même"),
    "professionnels": _l("un professionnel qui vous accompagne (conseiller, travailleur social…)"),
}
# modes_mobilisation: how to ask.
HOW_TO_ASK = {
    "telephoner": _l("par téléphone"),
    "se-presenter": _l("en vous présentant sur place"),
    "envoyer-un-courriel": _l("par courriel"),
    "utiliser-lien-mobilisation": _l("en ligne, par le formulaire de la structure"),
}
# publics whose standard label is jargon or misspelt for a person.
PUBLICS = {
    "beneficiaires-des-minimas-sociaux": "Personnes qui touchent le RSA ou un autre minimum social",
    "residents-qpv-frr": "Habitants d'un quartier prioritaire ou d'une commune rurale aidée (QPV, FRR)",
    "personnes-en-situation-juridique-specifique": "Personnes dans une situation juridique particulière",
    "actifs": "Personnes qui travaillent",
    "tous-publics": "Tout le monde",
}
MODES_ACCUEIL = {"en-presentiel": "Sur place", "a-distance": "À distance (téléphone, en ligne)"}
# Producers of imported records, by their source code.
SOURCES = {
    "dora": "DORA", "soliguide": "Soliguide", "data-inclusion": "data·inclusion",
    "france-travail": "France Travail", "mission-locale": "les missions locales",
    "emplois-de-linclusion": "les emplois de l'inclusion", "mes-aides": "Mes Aides",
    "monenfant": "monenfant.fr", "action-logement": "Action Logement", "france-services": "France Services",
    "agefiph": "l'Agefiph", "reseau-alpha": "le réseau Alpha", "fredo": "Fredo",
}

# The same names without the French article, for the other languages.
SOURCE_NAMES = {code: name.removeprefix("les ").removeprefix("le ").removeprefix("l'")
                for code, name in SOURCES.items()}


def who_asks(codes: list[str] | None) -> list[str]:
    return list(_said(True, i18n.current(), tuple(codes or ())))


def how_to_ask(codes: list[str] | None) -> list[str]:
    return list(_said(False, i18n.current(), tuple(codes or ())))


@lru_cache(maxsize=1024)  # per process: words of codes in a language
def _said(who: bool, lang: str, codes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(str((WHO_ASKS if who else HOW_TO_ASK).get(c, c)) for c in codes)


def publics(codes: list[str] | None) -> list[str]:
    labels = vocabulary.publics()
    return [PUBLICS.get(c, labels.get(c, c)) for c in codes or []]


def modes_accueil(codes: list[str] | None) -> list[str]:
    return [MODES_ACCUEIL.get(c, c) for c in codes or []]


def origin(source: str, structure_name: str) -> str:
    """Who wrote the record, in words, never as a source code: « Fiche publiée par
    la structure », « Fiche reprise de DORA »."""
    if source == "demo":
        return _("Fiche fictive (données de démonstration)")
    if source == "local" or source.startswith("api-") or source.startswith("partenaire"):
        return _("Fiche publiée par %(structure)s", structure=structure_name)
    if i18n.current() != "fr":
        fallback = _("une base partenaire")
        return _("Fiche reprise de %(source)s", source=SOURCE_NAMES.get(source, fallback))
    return "Fiche reprise " + typography.de(SOURCES.get(source, "une base partenaire"))
