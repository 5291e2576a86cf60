"""``azora backup``: make a backup, prove it restores, restore it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from azora import backup as backups
from azora.cli.base import CliState, pass_state
from azora.db import display_url


@click.group()
def backup() -> None:
    """Backups of the database (pg_dump / SQLite's online backup), each one verifiable."""


def _report(found: backups.Checked) -> None:
    click.echo(f"restored: journal head {found.head}")
    click.echo("restored: " + ", ".join(f"{t} {n}" for t, n in found.counts.items()))
    click.echo(f"restored: entries replayed {found.entries_replayed}")
    if found.ok:
        click.echo(
            "backup verify: OK (restores, ledger verify passes, a prefix of the live journal)"
        )
        return
    click.echo(f"backup verify: FAILED with {len(found.problems)} problem(s):")
    for problem in found.problems[:50]:
        click.echo(f"  - {problem}")
    sys.exit(1)


@backup.command("create")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--verify/--no-verify", default=True, help="Restore it aside and check it (default).")
@pass_state
def backup_create(state: CliState, out: Path, verify: bool) -> None:
    """Write a backup of AZORA_DATABASE_URL to OUT (never overwrites), then verify it."""
    url = state.settings().database_url
    state.container()  # refuses a missing or unmigrated database
    try:
        size = backups.create(url, out)
        click.echo(f"backup: {out} ({size} bytes) of {display_url(url)}")
        if verify:
            _report(backups.check(url, out))
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None


@backup.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_state
def backup_verify(state: CliState, file: Path) -> None:
    """Restore FILE into a scratch database, replay it, compare it with the live database;
    the scratch database is dropped. Exit 1 on any problem."""
    url = state.settings().database_url
    try:
        _report(backups.check(url, file))
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None


@backup.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "target", required=True, help="URL of an empty database to restore into.")
def backup_restore(file: Path, target: str) -> None:
    """Restore FILE into the empty database at --to, then replay its journal there."""
    from ledger.store.engine import make_engine
    from ledger.verify import verify

    try:
        backups.restore_into(target, file)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    engine = make_engine(target)
    try:
        report = verify(engine)
        head = backups.head(engine)
    finally:
        engine.dispose()
    click.echo(f"restored into {display_url(target)}: journal head {head}")
    if not report.ok:
        click.echo(f"ledger verify: FAILED with {len(report.problems)} problem(s)")
        sys.exit(1)
    click.echo(f"ledger verify: OK ({report.entries} entries replayed)")


def register(main: click.Group) -> None:
    main.add_command(backup)
