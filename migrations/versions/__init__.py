"""One module per revision, loaded by Alembic from its file (see migrations/__init__.py)."""
