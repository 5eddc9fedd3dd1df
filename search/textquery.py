"""Free text → a French tsquery: synonyms of the field, then typo correction.

A query is cut into groups (a synonym key, possibly several words, or one word);
each group matches if any of its alternatives matches, and every group must match
(AND). Alternatives of a word that is not in the dictionary of names and labels
(`search_word`) include its closest words by trigram similarity, so "logemnt"
also looks for "logement". Accents and case never matter (unaccent).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.names import fold

TS_CONFIG = "french_unaccent"
MIN_CORRECTED_LENGTH = 4
SIMILARITY = 0.45
MAX_CORRECTIONS = 3
# Nearest words by trigrams (pg_trgm's threshold, 0.3) looked at for each unknown word.
CANDIDATES = 10


@cache
def synonyms() -> dict[str, tuple[str, ...]]:
    """Normalised key -> its expressions (as written), from search/synonyms.yaml."""
    raw = yaml.safe_load(resources.files("search").joinpath("synonyms.yaml").read_text("utf-8"))
    result: dict[str, tuple[str, ...]] = {}
    for key, values in raw.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"synonyms.yaml: {key!r} needs a non-empty list")
        result[fold(str(key))] = tuple(str(v) for v in values)
    return result


@dataclass(frozen=True)
class Group:
    """One part of the query: matches if any alternative matches."""

    term: str
    alternatives: tuple[str, ...]


def split_groups(value: str) -> list[Group]:
    """Cut the text into groups, synonym keys first (longest match wins)."""
    words = fold(value).split()
    table = synonyms()
    longest = max((len(k.split()) for k in table), default=1)
    groups: list[Group] = []
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            key = " ".join(words[i : i + n])
            if key in table:
                groups.append(Group(key, (key, *table[key])))
                i += n
                break
        else:
            groups.append(Group(words[i], (words[i],)))
            i += 1
    return groups


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and
    transpositions of two neighbouring letters each count 1."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def corrections(session: Session, words: list[str]) -> dict[str, list[str]]:
    """Closest dictionary words of each word that is not in the dictionary: similar
    by trigrams (SIMILARITY), or one edit away (trigrams miss a swap of the last
    letters: « emplio » shares only 40 % of its trigrams with « emploi »)."""
    candidates = sorted({w for w in words if len(w) >= MIN_CORRECTED_LENGTH and not w.isdigit()})
    if not candidates:
        return {}
    rows = session.execute(
        text(
            """
            SELECT q.w, c.word, c.sim
            FROM unnest(CAST(:words AS text[])) AS q(w)
            CROSS JOIN LATERAL (
                SELECT word, similarity(word, q.w) AS sim FROM search_word
                WHERE word % q.w
                ORDER BY similarity(word, q.w) DESC, word
                LIMIT :n
            ) c
            WHERE NOT EXISTS (SELECT 1 FROM search_word x WHERE x.word = q.w)
            """
        ),
        {"words": candidates, "n": CANDIDATES},
    ).all()
    found: dict[str, list[str]] = {}
    for word, correction, similarity in rows:
        close = similarity >= SIMILARITY or edit_distance(word, correction) <= 1
        if close and len(found.get(word, ())) < MAX_CORRECTIONS:
            found.setdefault(word, []).append(correction)
    return found


def expand(session: Session, value: str) -> list[Group]:
    """Groups with synonyms and typo corrections as alternatives."""
    groups = split_groups(value)
    fixes = corrections(session, [g.term for g in groups if " " not in g.term])
    return [
        Group(g.term, g.alternatives + tuple(fixes.get(g.term, ()))) if g.term in fixes else g
        for g in groups
    ]


def tsquery_sql(groups: list[Group], params: dict, prefix: str = "tq") -> str:
    """SQL of the tsquery (AND of groups, OR of alternatives); fills `params`."""
    parts = []
    for i, group in enumerate(groups):
        alts = []
        for j, alternative in enumerate(group.alternatives):
            name = f"{prefix}_{i}_{j}"
            params[name] = alternative
            alts.append(f"plainto_tsquery('{TS_CONFIG}', :{name})")
        parts.append("(" + " || ".join(alts) + ")")
    return " && ".join(parts) if parts else "''::tsquery"


def build_tsquery(session: Session, value: str) -> str | None:
    """The tsquery (as text) for the free text, or None if it has no searchable
    word (only stop words or punctuation)."""
    groups = expand(session, value)
    if not groups:
        return None
    params: dict = {}
    result = session.scalar(text(f"SELECT CAST({tsquery_sql(groups, params)} AS text)"), params)
    return result or None
