"""search: search rows written in reach order (national remote offers together)

Revision ID: 0011
Revises: 0010

Every commune's search finds the offers made remotely to all of France (an empty
zone or `france`): at 1,000,000 services, ten to sixty thousand rows for a
commune and a thematique or a broad text. Written in the order of the services'
ids (random), each of them sat on its own page of the table: a search read 13,000
pages for 15,000 rows. search_refresh_rows now writes its rows national remote
offers first, by their first thematique (thematique codes begin with their
category), then the others by commune, so that rows found together share pages (a
whole rebuild, or each import batch): a commune and a SPIE thematic read 1,031 pages
for 13,054 rows instead of 5,742 (docs/performance.md, 2026-12-04). The function is
0010's, with that ORDER BY, and the new words of the typo dictionary inserted in
one order (two import batches written at once never deadlock on them).
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_spec = importlib.util.spec_from_file_location("_m0010", Path(__file__).with_name("0010_search_table.py"))
_m0010 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_m0010)

# search_refresh_rows as 0010 created it (its other functions are left as they are).
_START = "CREATE FUNCTION search_refresh_rows"
_END = "END $$;\n"
_begin = _m0010.FUNCTIONS.index(_START)
BEFORE = _m0010.FUNCTIONS[_begin : _m0010.FUNCTIONS.index(_END, _begin) + len(_END)].replace(
    _START, "CREATE OR REPLACE FUNCTION search_refresh_rows", 1
)
_JOIN = "    FROM src LEFT JOIN keyed kk ON kk.id = src.id\n"
_SRC = "s.zone_eligibilite, s.location,"
assert BEFORE.count(_JOIN) == 1 and BEFORE.count(_SRC) == 1
_NATIONAL = ("'a-distance' = ANY (src.modes_accueil) "
             "AND (src.zone_eligibilite = '{}' OR 'france' = ANY (src.zone_eligibilite))")
_WORDS = "    WHERE length(w) >= 3\n    ON CONFLICT DO NOTHING\n"
assert BEFORE.count(_WORDS) == 1
AFTER = BEFORE.replace(_SRC, "s.zone_eligibilite, s.thematiques, s.location,").replace(
    _WORDS,
    "    WHERE length(w) >= 3\n"
    "    -- One order for every transaction: two import batches written at once, adding\n"
    "    -- the same new words, wait for each other but never deadlock.\n"
    "    ORDER BY w\n"
    "    ON CONFLICT DO NOTHING\n",
).replace(
    _JOIN,
    _JOIN
    + "    -- National remote offers first, by their first thematique (so by category),\n"
    + "    -- then the others by commune: rows found together share pages.\n"
    + f"    ORDER BY NOT ({_NATIONAL}),\n"
    + f"             CASE WHEN {_NATIONAL} THEN src.thematiques[1] END,\n"
    + "             src.code_insee, src.id\n",
)


def upgrade() -> None:
    op.execute(AFTER)


def downgrade() -> None:
    op.execute(BEFORE)
