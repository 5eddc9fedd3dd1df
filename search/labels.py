"""Vocabulary labels written into the search vectors (table search_label)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from catalogue import facet_keys, vocabulary


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


def key_label_rows() -> list[dict]:
    """Facet keys of the vocabulary; those of thematiques, categories, SPIE groups,
    publics and types carry a label (search_key.vector)."""
    key = facet_keys.key
    rows = [{"key": key("thematiques", c), "label": lab} for c, lab in vocabulary.thematiques().items()]
    rows += [{"key": key("categories", c), "label": lab} for c, lab in vocabulary.categories().items()]
    rows += [{"key": key("thematiques_spie", g.code), "label": g.label} for g in vocabulary.spie_groups()]
    rows += [{"key": key("publics", c), "label": lab} for c, lab in vocabulary.publics().items()]
    rows += [{"key": key("types", c), "label": lab} for c, lab in vocabulary.types().items()]
    # Keys without a label, registered beforehand so that the search rows of a
    # catalogue within the vocabulary are written in one pass.
    rows += [{"key": key("frais", c), "label": None} for c in vocabulary.frais()]
    rows += [{"key": key("modes_accueil", c), "label": None} for c in vocabulary.modes_accueil()]
    rows += [{"key": key("mobilisable_par", c), "label": None} for c in vocabulary.mobilisable_par()]
    return rows


def refresh_keys(bind: Session | Connection) -> int:
    """Write the vocabulary's keys into the search tables: each thematique's
    category and SPIE group keys (search_thematique_key), and the label vector of
    each key (search_key, created if missing), stemmed once per label: the search
    documents concatenate them instead of stemming the labels of every service.
    Returns the number of keys."""
    bind.execute(text("DELETE FROM search_thematique_key"))
    bind.execute(
        text("INSERT INTO search_thematique_key (thematique, key) VALUES (:t, :k)"),
        [{"t": t, "k": k} for t, k in facet_keys.grouped_thematiques()],
    )
    rows = key_label_rows()
    bind.execute(
        text(
            "INSERT INTO search_key (key, vector) "
            "VALUES (:key, to_tsvector('french_unaccent', :label)) "
            "ON CONFLICT (key) DO UPDATE SET vector = EXCLUDED.vector"
        ),
        rows,
    )
    return len(rows)
