"""``azora db``: migrations and the PostgreSQL app role."""

from __future__ import annotations

import click

from azora.cli.base import CliState, pass_state
from azora.db import display_url, grant_app_role, prepare_sqlite_directory, upgrade
from ledger.store.engine import make_engine


@click.group()
def db() -> None:
    """Schema and database roles."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: CliState) -> None:
    """Create the database's schema, or bring it up to date (AZORA_DATABASE_URL)."""
    url = state.settings().database_url
    prepare_sqlite_directory(url)
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    click.echo(f"database at {display_url(url)} is up to date")


@db.command("grant-app-role")
@click.argument("role")
@click.option("--password", envvar="AZORA_APP_ROLE_PASSWORD", help="Create the role with it.")
@pass_state
def db_grant_app_role(state: CliState, role: str, password: str | None) -> None:
    """PostgreSQL: let ROLE run the service without rewriting the journal.

    ROLE gets SELECT and INSERT on journal tables (no UPDATE, DELETE or TRUNCATE) and
    read-write access to projections. Run it as the owner of the schema after each upgrade.
    """
    engine = state.container().engine
    if engine.dialect.name != "postgresql":
        raise click.ClickException("roles exist on PostgreSQL only")
    try:
        journal, projections = grant_app_role(engine, role, password)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="ROLE") from None
    click.echo(f"{role}: append-only on {', '.join(journal)}")
    click.echo(f"{role}: read-write on {', '.join(projections)}")


def register(main: click.Group) -> None:
    main.add_command(db)
