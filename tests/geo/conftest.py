"""Fixtures of the geo tests: the test template already holds the whole référentiel."""

from __future__ import annotations

import pytest


@pytest.fixture
def cli(app):
    """Invoke the `offre` command line on the test app (its sessions are bound to
    the test's transaction): cli("territory", "list") -> click Result."""
    from flask.cli import ScriptInfo

    from web.cli import build_cli

    group = build_cli()
    runner = app.test_cli_runner()
    info = ScriptInfo(create_app=lambda: app)

    def invoke(*args):
        return runner.invoke(group, list(args), obj=info)

    return invoke
