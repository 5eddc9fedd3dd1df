"""The `offre` command line: a Flask CLI group on create_app."""

from __future__ import annotations

from flask.cli import FlaskGroup

from web.commands import (
    accounts,
    api,
    base,
    cto,
    export,
    geo,
    imports,
    ops,
    orientations,
    prescriptions,
    reminders,
    schedule,
    search,
)

# Command modules, one per area (see web/commands/__init__.py), each with `commands`.
COMMAND_MODULES = [
    imports,
    search,
    base,
    geo,
    export,
    api,
    reminders,
    accounts,
    cto,
    schedule,
    ops,
    orientations,
    prescriptions,
]


def _create_app():
    import click

    from web.app import create_app
    from web.settings import SettingsError

    try:
        return create_app()
    except SettingsError as exc:  # a clear French message, not a traceback
        raise click.ClickException(str(exc)) from exc


def build_cli() -> FlaskGroup:
    cli = FlaskGroup(
        name="offre",
        create_app=_create_app,
        add_default_commands=False,
        help="Cartographie de l'offre d'insertion : administration.",
    )
    for module in COMMAND_MODULES:
        for cmd in module.commands:
            cli.add_command(cmd)
    return cli


def main() -> None:
    build_cli()(prog_name="offre")


if __name__ == "__main__":  # `python -m web.cli`: how the scheduler runs its jobs
    main()
