"""The database schema's history: Alembic migrations of every package's tables.

A package of its own, outside the layers: a migration imports nothing of the project
(only alembic, sqlalchemy and geoalchemy2), and holds a frozen copy of the SQL and
the data it runs, so that an old migration never changes when live code does
(import-linter contract « Migrations import no project code », and
tests/migrations/test_frozen.py). `env.py` alone names the model modules, by
string, for `alembic check`. See docs/architecture.md, « Le schéma ».
"""
