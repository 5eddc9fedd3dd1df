"""imp_first_import: the large values an import writes compressed with lz4 (issue #22)

Revision ID: 0030_imp_first_import
Revises: 0029_srch_shared_cache

A value of more than about 2 kB (a record's raw payload, a long description, an
audit row's JSON) is compressed when it is written; pglz, PostgreSQL's default,
compressed them at a tenth of lz4's speed: 15 % of the database's work for the
insert and the audit of a batch of 2,000 services (bench/import.py, issue #22).
Only new values are compressed with lz4, the others stay as they are, and both are
read back the same: nothing a query returns changes. A server built without lz4
keeps pglz (nothing is done).
"""

from alembic import op

revision = "0030_imp_first_import"
down_revision = "0029_srch_shared_cache"
branch_labels = None
depends_on = None

# The columns whose values are large: the records' raw payload and texts, the audit's JSON.
COLUMNS = {
    "structure": ("raw", "description"),
    "service": ("raw", "description"),
    "audit_log": ("before", "after"),
}

LZ4 = "SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"


def _set(method: str) -> None:
    if not op.get_bind().exec_driver_sql(LZ4).scalar():
        return
    for table, columns in COLUMNS.items():
        op.execute(f"ALTER TABLE {table} " + ", ".join(f"ALTER COLUMN {c} SET COMPRESSION {method}" for c in columns))


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("default")
