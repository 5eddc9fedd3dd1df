"""Alembic environment: one schema for every package's tables."""

import importlib
import os

from alembic import context
from sqlalchemy import create_engine

# Every module that declares tables. Listed here by name and imported at run time,
# only to give `alembic check` the models to compare with: the migrations themselves
# import no project code (see migrations/__init__.py).
MODEL_MODULES = [
    "geo.models",
    "catalogue.models",
    "catalogue.accounts",  # partners' accounts, roles, moderation (migration 0004)
    "catalogue.tokens",  # API tokens (migration 0005)
    "catalogue.cto",  # levers, shortlists, committees (migration 0006)
    "catalogue.freshness",  # freshness reminders sent (migration 0007)
    "catalogue.jobs",  # last runs of the scheduled jobs (migration 0012)
    "catalogue.orientation",  # orientations, their history, reads of personal data (migration 0020_feat_orient)
    "catalogue.prescription",  # SPIE prescriptions, plan actions, reads (migration 0021_feat_prescr)
    "catalogue.orientation_attachment",  # attachments of an orientation (migration 0024_orient_attach)
    "catalogue.selection",  # short links of a selection for the person (migration 0022_feat_selection)
    "importers.models",  # import runs, quarantine (migration 0002)
    "search.models",  # search support, anonymous search log (migration 0003)
]


def _metadatas():
    seen = []
    for name in MODEL_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        base = getattr(module, "Base", None)
        if base is not None and base.metadata not in seen:
            seen.append(base.metadata)
    return seen


# PostGIS and its companions own tables and views we must not touch.
_FOREIGN_TABLES = {"spatial_ref_sys", "topology", "layer"}


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table" and name in _FOREIGN_TABLES:
        return False
    return True


def run_migrations_online() -> None:
    url = context.config.attributes.get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL n'est pas défini.")
    connection = context.config.attributes.get("connection")
    engine = None
    if connection is None:
        engine = create_engine(url)
        connection = engine.connect()
        owned = True
    else:
        owned = False
    try:
        context.configure(
            connection=connection,
            target_metadata=_metadatas(),
            include_object=include_object,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if owned:
            connection.commit()
    finally:
        if owned:
            connection.close()
            engine.dispose()


run_migrations_online()
