"""Normalisation of place names for lookup: "Saint-Quentin", "st quentin" and
"ST-QUENTIN" all become "st quentin"; "L'Abergement" becomes "l abergement"."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SAINT = re.compile(r"\b(sainte|saint)\b")


def normalise_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.lower())
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_only = ascii_only.replace("œ", "oe").replace("æ", "ae")
    spaced = _NON_ALNUM.sub(" ", ascii_only).strip()
    return _SAINT.sub(lambda m: "ste" if m.group(1) == "sainte" else "st", spaced)
