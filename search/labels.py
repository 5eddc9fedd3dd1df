"""Vocabulary labels written into the search vectors (table search_label)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from catalogue import vocabulary


def label_rows() -> list[dict]:
    rows = [{"kind": "thematique", "code": c, "label": lab} for c, lab in vocabulary.thematiques().items()]
    rows += [{"kind": "categorie", "code": c, "label": lab} for c, lab in vocabulary.categories().items()]
    rows += [
        {"kind": "spie", "code": c, "label": g.label}
        for c, g in vocabulary.spie_group_of_categorie().items()
    ]
    rows += [{"kind": "public", "code": c, "label": lab} for c, lab in vocabulary.publics().items()]
    rows += [{"kind": "type", "code": c, "label": lab} for c, lab in vocabulary.types().items()]
    return rows


def refresh_labels(bind: Session | Connection) -> int:
    """Rewrite search_label from the vocabulary and add its words to the typo
    dictionary. Returns the number of labels."""
    rows = label_rows()
    bind.execute(text("DELETE FROM search_label"))
    bind.execute(
        text("INSERT INTO search_label (kind, code, label) VALUES (:kind, :code, :label)"), rows
    )
    bind.execute(text("SELECT search_add_words(string_agg(label, ' ')) FROM search_label"))
    return len(rows)
