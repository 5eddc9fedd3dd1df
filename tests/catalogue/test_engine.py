"""The application's connections run without JIT compilation (see catalogue.db)."""

from sqlalchemy import text

from catalogue.db import make_engine


def test_engine_sessions_have_jit_off(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SHOW jit")) == "off"
    finally:
        engine.dispose()
