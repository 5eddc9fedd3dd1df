"""How likely two records of different sources are the same organisation (or the same
offer): a score in 0..1, pure Python, no database (importers/duplicates.py finds the
candidates and writes the links; bench/duplicates.py measures it on a labelled set).

- Different SIRETs (both given) are never the same organisation.
- Names are compared word by word, each word weighted by its rarity in the catalogue
  (inverse document frequency over the catalogue's names): « France », « Paris »,
  « association », « CCAS » say little, « Rebond » or « Emmaüs » a lot; the words of
  the communes of the two records weigh less still (the records are already close to
  each other); an acronym matches the initials of the other name's words (« CCAS » and
  « Centre communal d'action sociale »), a misspelt or abbreviated word its full form;
  two different numbers (« Lyon 3e », « Lyon 7e ») mean two places.
- Evidence beside the name: the same SIRET, phone, e-mail, website or e-mail domain
  (each worth less when many records of the catalogue share it: a national number, a
  network's website, a town hall's switchboard), the same address or the same street
  with another number, and the distance.

The evidence is added as log-odds and turned into a probability. The weights were set
by reasoning, not fitted; two of them (RARITY_POWER, ADDRESS_DIFFERS) and the thresholds
were then chosen among a few values on the "tune" half of the labelled pairs. Above HIDE the newer record is hidden from the
searches; between SUGGEST and HIDE it is only proposed to a moderator and stays visible.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rapidfuzz.distance import OSA, Levenshtein

from geo.names import fold

# Decisions. HIDE and HIDE_NAME (the names' own similarity, needed to hide) were chosen
# on the "tune" half of tests/data/duplicate_pairs.json (bench/duplicates.py): the highest recall at a
# precision of at least 0.975 there; the "test" half measures them.
HIDE = 0.85
HIDE_NAME = 0.6
SUGGEST = 0.5
# Two offers of one organisation are proposed as one only when their names are this
# close (weighted as the structures' names, over the offers' names).
SERVICE_NAME_MIN = 0.7
# Candidates: records closer than this (or with the same SIRET).
RADIUS_M = 1000

_STOPWORDS = frozenset(
    "de du des la le les l d et a au aux en pour sur par un une dans avec chez sous".split()
    # legal forms
    + "loi 1901 sarl scic scop sas sasu eurl gie asbl".split()
)
# Words that name a kind of organisation, a network or a place, never one organisation
# by themselves: counted at least as frequent as FLOOR_SHARE of the names, so that a
# small catalogue (a first import) does not take them for distinctive.
_GENERIC = frozenset(
    """association asso assoc centre center maison espace point agence antenne accueil service services
    france travail emploi mission locale communal communale intercommunal intercommunale departemental
    departementale regional regionale national nationale social sociale sociaux action solidarite solidarites
    solidaire insertion mairie ville commune hotel pole unite comite federation union caisse
    secours club bureau office information jeunesse jeunes famille familles familiales habitat
    logement sante conseil cabinet groupe siege site permanence arrondissement ccas cias caf cpam mjc
    pij mds saint sainte paris lyon marseille""".split()
)
FLOOR_SHARE = 0.05
# A catalogue smaller than this is taken as this large (rarity needs names to count).
MIN_NAMES = 500
# Weight of the words of the two records' communes.
COMMUNE_WEIGHT = 0.1
MIN_WEIGHT = 0.05
# Weights are the inverse document frequency to this power: rare words weigh much
# more than common ones.
RARITY_POWER = 1.5
NAME_SLOPE = 12.0
CONTACT_DIFFERS = 0.5
ADDRESS_DIFFERS = 2.0

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_NOT_DIGIT = re.compile(r"\D")
_DOTTED = re.compile(r"\b(?:[A-Za-z]\.\s?){2,}")
_ORDINAL = re.compile(r"^(\d+)(?:e|eme|er|ere|nd|nde|d)$")
_ABBREVIATED = {"st": "saint", "ste": "sainte", "ctre": "centre"}
_STREET_WORDS = {"r": "rue", "av": "avenue", "ave": "avenue", "bd": "boulevard", "bld": "boulevard",
                 "pl": "place", "ch": "chemin", "che": "chemin", "rte": "route", "imp": "impasse",
                 "all": "allee", "sq": "square", "fbg": "faubourg", "qu": "quai"}
_WEBMAIL = frozenset("""gmail.com orange.fr wanadoo.fr free.fr laposte.net hotmail.fr hotmail.com yahoo.fr
    yahoo.com outlook.fr outlook.com live.fr sfr.fr neuf.fr aol.com icloud.com bbox.fr numericable.fr""".split())
_PLATFORMS = frozenset("facebook.com sites.google.com wixsite.com linktr.ee instagram.com".split())


def _word(w: str) -> str | None:
    """One folded word as names are compared: an ordinal as its number, a few
    abbreviations spelt out, None for an article or a preposition."""
    m = _ORDINAL.match(w)
    if m:
        w = m.group(1)
    w = _ABBREVIATED.get(w, w)
    return None if w in _STOPWORDS else w


_WORDS: dict[str, str | None] = {}

# Names that one organisation goes by, written as they are folded: the first is the one
# kept. These are facts of the field, not of one file: Pôle emploi became France Travail
# on 1 January 2024 (loi pour le plein emploi) and producers still write both; the
# hôtel de ville is the mairie; « les Restos du cœur » is how the Restaurants du cœur
# are named, even by themselves; SPF is the Secours populaire français; an MDS (or MDSI)
# is a maison départementale des solidarités; the Croix-Rouge is française.
_ALIASES = {
    "pole emploi": "france travail",
    "hotel de ville": "mairie",
    "ville de": "mairie",
    "restos": "restaurants",
    "resto": "restaurant",
    "spf": "secours populaire francais",
    "mds": "maison departementale solidarites",
    "mdsi": "maison departementale solidarites",
    "maison des solidarites": "maison departementale solidarites",
    "croix rouge francaise": "croix rouge",
}
_ALIAS = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, _ALIASES), key=len, reverse=True)) + r")\b")


def words(name: str | None) -> tuple[str, ...]:
    """The words of a name that can tell it apart: folded, « C.C.A.S. » as one word,
    ordinals as their number (« 18e » -> « 18 »), articles and prepositions left out."""
    if name and "." in name:
        name = _DOTTED.sub(lambda m: m.group(0).replace(".", "").replace(" ", "") + " ", name)
    out = []
    folded = _ALIAS.sub(lambda m: _ALIASES[m.group(0)], fold(name))
    for w in folded.split():
        try:
            w = _WORDS[w]
        except KeyError:
            if len(_WORDS) > 200_000:  # bounded: a catalogue has far fewer distinct words
                _WORDS.clear()
            w = _WORDS[w] = _word(w)
        if w is not None:
            out.append(w)
    return tuple(out)


def phone_key(phone: str | None) -> str | None:
    digits = _NOT_DIGIT.sub("", phone or "")
    if len(digits) < 9:
        return digits or None  # a short number (3949) as it is
    return digits[-9:]  # +33 1 23 45 67 89, 0033123456789 and 01 23 45 67 89 alike


def email_key(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    return email if "@" in email else None


def host_key(url: str | None) -> str | None:
    url = (url or "").strip().lower()
    if not url:
        return None
    host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    host = host.removeprefix("www.")
    return host if "." in host and host not in _PLATFORMS else None


@dataclass
class Catalogue:
    """How often each word of the names, and each phone, e-mail, e-mail domain and
    website, occurs in the catalogue (number of records)."""

    names: int = 0
    words: Counter = field(default_factory=Counter)
    contacts: Counter = field(default_factory=Counter)
    _weights: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, rows: Iterable[tuple]) -> Catalogue:
        """From (name, phone, e-mail, website) rows; services give (name,)."""
        cat = cls()
        for row in rows:
            cat.add(*row)
        return cat

    @classmethod
    def of_names(cls, rows: Iterable[tuple[str | None, int]]) -> Catalogue:
        """From (name, how many records bear it) rows."""
        cat = cls()
        for name, n in rows:
            cat.names += n
            for w in set(words(name)):
                cat.words[w] += n
        return cat

    def add(self, name: str | None, phone: str | None = None, email: str | None = None,
            site: str | None = None) -> None:
        self.names += 1
        self._weights.clear()
        self.words.update(set(words(name)))
        if phone or email or site:
            for key in _contact_keys(phone_key(phone), email_key(email), host_key(site)):
                self.contacts[key] += 1

    def weight(self, word: str) -> float:
        cached = self._weights.get(word)
        if cached is None:
            cached = self._weights[word] = self._idf(word) ** RARITY_POWER
        return cached

    def _idf(self, word: str) -> float:
        n = max(self.names, MIN_NAMES)
        df = self.words.get(word, 0)
        if word in _GENERIC:
            df = max(df, FLOOR_SHARE * n)
        # A word in every name still counts a little (offers all named « Accompagnement »).
        return max(math.log((n + 1) / (df + 1)), MIN_WEIGHT)

    def shared_by(self, key: str) -> int:
        return self.contacts.get(key, 0)


def _contact_keys(phone: str | None, email: str | None, host: str | None) -> list[str]:
    keys = []
    if phone:
        keys.append("tel:" + phone)
    if email:
        keys.append("mail:" + email)
        domain = email.split("@", 1)[1]
        if domain not in _WEBMAIL:
            keys.append("domain:" + domain)
    if host:
        keys.append("web:" + host)
    return keys


@dataclass
class Record:
    """One side of a pair, prepared once (see `record`)."""

    words: tuple[str, ...]
    siret: str | None = None
    phone: str | None = None
    email: str | None = None
    host: str | None = None
    number: str | None = None  # house number of the address
    street: tuple[str, ...] = ()
    place_words: frozenset[str] = frozenset()


_POSTAL_BOX = re.compile(r"\b(?:bp|cs|tsa)\s*\d+|\bcedex(?:\s*\d+)?")


def _address(address: str | None) -> tuple[str | None, tuple[str, ...]]:
    """The house number and the words of the street (a postal box, « BP 12 », left out)."""
    parts = _POSTAL_BOX.sub(" ", fold(address)).split()
    number, street = None, []
    for i, w in enumerate(parts):
        if w.isdigit() and number is None and not street:
            number = w
            if i + 1 < len(parts) and parts[i + 1] in ("bis", "ter", "b", "t"):
                number += parts[i + 1][0]
            continue
        if w in ("bis", "ter", "b", "t") and number and not street:
            continue
        if number is not None:
            street.append(_STREET_WORDS.get(w, w))
    return number, tuple(w for w in street if w not in _STOPWORDS)


def record(nom: str | None, *, siret: str | None = None, telephone: str | None = None,
           courriel: str | None = None, site_web: str | None = None, adresse: str | None = None,
           communes: Iterable[str | None] = ()) -> Record:
    number, street = _address(adresse)
    place = frozenset(w for c in communes for w in words(c))
    return Record(words(nom), (siret or "").replace(" ", "") or None, phone_key(telephone), email_key(courriel),
                  host_key(site_web), number, street, place)


# ------------------------------------------------------------------ names

def _initials_match(acronym: str, seq: tuple[str, ...], taken: list[bool]) -> tuple[int, int] | None:
    """The run of free words of `seq` whose initials spell `acronym`."""
    n = len(acronym)
    for start in range(len(seq) - n + 1):
        if all(not taken[start + k] and seq[start + k][0] == acronym[k] for k in range(n)) \
                and all(len(seq[start + k]) > 1 for k in range(n)):
            return start, start + n
    return None


def name_similarity(a: tuple[str, ...], b: tuple[str, ...], weight) -> float:
    """0..1: the weighted share of the two names' words that find a match in the other
    name (weighted Dice). `weight(word)` is the word's weight."""
    if not a or not b:
        return 0.0
    wa, wb = [weight(w) for w in a], [weight(w) for w in b]
    ma, mb = [0.0] * len(a), [0.0] * len(b)
    for i, w in enumerate(a):  # the same words
        for j, v in enumerate(b):
            if not mb[j] and v == w:
                ma[i] = mb[j] = 1.0
                break
    for x, y, mx, my in ((a, b, ma, mb), (b, a, mb, ma)):  # acronyms
        for i, w in enumerate(x):
            if mx[i] or not (2 <= len(w) <= 7 and w.isalpha()):
                continue
            found = _initials_match(w, y, [bool(m) for m in my])
            if found:
                mx[i] = 1.0
                for k in range(*found):
                    my[k] = 1.0
    for i, w in enumerate(a):  # misspelt, abbreviated, plural
        if ma[i]:
            continue
        best, at = 0.0, -1
        for j, v in enumerate(b):
            if mb[j]:
                continue
            short, long_ = (w, v) if len(w) <= len(v) else (v, w)
            if len(short) >= 3 and long_.startswith(short) and not short.isdigit():
                score = 0.9
            elif len(short) >= 4:
                score = OSA.normalized_similarity(w, v)  # a transposition is one typo
                score = score if score >= 0.8 else 0.0
            else:
                continue
            if score > best:
                best, at = score, j
        if at >= 0:
            ma[i] = mb[at] = best
    matched = sum(w * m for w, m in zip(wa, ma, strict=True)) + sum(w * m for w, m in zip(wb, mb, strict=True))
    left_a = sum(w * (1 - m) for w, m in zip(wa, ma, strict=True))
    left_b = sum(w * (1 - m) for w, m in zip(wb, mb, strict=True))
    # A word in place of another (« France Services » / « France Travail ») says more
    # than a word added (« France Travail » / « Agence France Travail »): the words left
    # on both sides count twice.
    total = matched + left_a + left_b + min(left_a, left_b)
    return matched / total if total > 0 else 0.0


def _numbers_differ(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    # Up to three digits: arrondissements, antennas (not « loi 1901 », not a year).
    na = {w for w in a if w.isdigit() and len(w) <= 3}
    nb = {w for w in b if w.isdigit() and len(w) <= 3}
    return bool(na and nb and not na & nb)


# ------------------------------------------------------------------ score

@dataclass
class Match:
    score: float
    reasons: list[str]
    name: float = 0.0  # the names' similarity alone

    @property
    def hide(self) -> bool:
        """Hidden from the searches: a high score and names that agree (the same phone
        and SIRET under two names are two antennas as often as one organisation)."""
        return self.score >= HIDE and self.name >= HIDE_NAME

    @property
    def suggest(self) -> bool:
        return self.score >= SUGGEST


_SAME = {"tel": "même téléphone", "mail": "même courriel", "web": "même site"}


def _rare(shared: int) -> float:
    """How much the same contact says, from how many records of the catalogue share it."""
    return 1.0 if shared <= 2 else 0.4 if shared <= 5 else 0.0


def structure_match(a: Record, b: Record, distance_m: float | None, catalogue: Catalogue,
                    names: dict | None = None) -> Match:
    """Whether two structures of different sources are the same organisation. `names`
    keeps the names' similarities of a run (pure for one catalogue: a national import
    compares the same two names, in the same commune, many times)."""
    if a.siret and b.siret and a.siret != b.siret:
        return Match(0.0, ["SIRET différents"])
    # The words of the commune both are in (« Paris » for Paris and Paris 5e): written
    # or not, they cannot tell two records of that commune apart. Other communes'
    # names (two neighbouring towns' offices) do.
    place = a.place_words & b.place_words
    key = (a.words, b.words, place)
    # The names' similarity and whether their numbers differ: both pure of the key.
    known = names.get(key) if names is not None else None
    if known is None:
        def weight(w: str) -> float:
            return catalogue.weight(w) * (COMMUNE_WEIGHT if w in place else 1.0)

        known = (name_similarity(a.words, b.words, weight), _numbers_differ(a.words, b.words))
        if names is not None:
            names[key] = known
    name, numbers_differ = known
    # Names weigh most, but a name written quite differently (« Pôle emploi » and
    # « France Travail ») can still be proposed on the strength of the rest.
    z = 0.5 + max(NAME_SLOPE * (name - 0.75), -4.0)
    reasons = [f"noms {name:.2f}"]
    if numbers_differ:
        z -= 4.0
        reasons.append("numéros différents dans les noms")
    if a.siret and a.siret == b.siret:
        z += 3.5
        reasons.append("même SIRET")
    for key_a, key_b, label, strong in ((a.phone, b.phone, "tel", 2.5), (a.email, b.email, "mail", 2.5),
                                        (a.host, b.host, "web", 1.5)):
        if key_a and key_b:
            if key_a == key_b:
                z += strong * _rare(catalogue.shared_by(f"{label}:{key_a}"))
                reasons.append(_SAME[label])
            elif label != "mail":
                z -= CONTACT_DIFFERS
    if a.email and b.email and a.email != b.email:
        da, db = a.email.split("@", 1)[1], b.email.split("@", 1)[1]
        if da == db and da not in _WEBMAIL:
            z += 1.5 * _rare(catalogue.shared_by("domain:" + da))
        elif da != db and da not in _WEBMAIL and db not in _WEBMAIL:
            z -= 0.5
    if a.street and b.street:
        same_street = Levenshtein.normalized_similarity(" ".join(a.street), " ".join(b.street)) >= 0.85
        if same_street and a.number and a.number == b.number:
            z += 0.7
            reasons.append("même adresse")
        elif same_street and a.number and b.number:
            z -= 1.0
            reasons.append("même rue, autre numéro")
        elif not same_street and a.number and b.number:
            z -= ADDRESS_DIFFERS
            reasons.append("autre adresse")
        elif not same_street:
            z -= 0.3
    if distance_m is not None:
        z += 0.5 if distance_m <= 50 else 0.0 if distance_m <= 200 else -0.5 if distance_m <= 500 else -1.0 \
            if distance_m <= RADIUS_M else -1.5
    return Match(1 / (1 + math.exp(-z)), reasons, name)


def service_match(a: tuple[str, ...], b: tuple[str, ...], structure_score: float, catalogue: Catalogue) -> Match:
    """Whether two offers of the same structure (or of two structures that are one, with
    `structure_score` the confidence of that link), with a thematique in common, are
    the same offer: the weighted name similarity, no more than the structures'."""
    name = 0.0 if _numbers_differ(a, b) else name_similarity(a, b, catalogue.weight)
    if name < SERVICE_NAME_MIN:
        return Match(0.0, [f"noms {name:.2f}"], name)
    return Match(min(structure_score, name), [f"noms {name:.2f}"], name)
