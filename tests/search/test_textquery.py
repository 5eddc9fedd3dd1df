"""Typo correction: the edit distance that lets a swap of two letters through."""

from __future__ import annotations

import pytest

from search.textquery import edit_distance


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("emploi", "emploi", 0),
        ("emplio", "emploi", 1),  # two neighbouring letters swapped
        ("logemnt", "logement", 1),  # a letter missing
        ("formaton", "formation", 1),
        ("sante", "santé", 1),  # an accent is a letter (words are unaccented before)
        ("garage", "logement", 7),
        ("", "cv", 2),
    ],
)
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b) == distance
