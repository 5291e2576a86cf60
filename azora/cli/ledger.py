"""``azora ledger``: replay checks and upkeep of the journal; ``azora maintain``."""

from __future__ import annotations

import sys

import click

from azora.cli.base import CliState, pass_state
from ledger.verify import count_entries, verify


@click.group()
def ledger() -> None:
    """Checks and maintenance of the journal."""


@ledger.command("verify")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_state
def ledger_verify(state: CliState, quiet: bool) -> None:
    """Replay the journal: hash chain, gapless seq, every balance. Exit 1 on any mismatch."""
    engine = state.container().engine
    total = count_entries(engine)
    with click.progressbar(
        length=total, label="replaying journal", file=sys.stderr, hidden=quiet
    ) as bar:
        report = verify(engine, progress=bar.update)
    click.echo(f"entries replayed: {report.entries}")
    click.echo(f"accounts checked: {report.accounts}")
    if report.ok:
        click.echo("ledger verify: OK (hash chain, gapless seq, balances, history lines)")
        return
    click.echo(f"ledger verify: FAILED with {len(report.problems)} problem(s):")
    for problem in report.problems:
        click.echo(f"  - {problem}")
    if report.truncated:
        click.echo("  - ... (more problems not shown)")
    sys.exit(1)


@ledger.command("expire-holds")
@pass_state
def ledger_expire_holds(state: CliState) -> None:
    """Record the expiry of every hold past its deadline."""
    book = state.container().ledger
    total = 0
    while (count := book.expire_due_holds()) > 0:
        total += count
    click.echo(f"holds expired: {total}")


@click.command("maintain")
@pass_state
def maintain(state: CliState) -> None:
    """One round of what the serving processes do every few seconds: expire holds past
    their deadline, settle interrupted redemptions."""
    state.container().maintain()
    click.echo("maintenance: done")


def register(main: click.Group) -> None:
    main.add_command(ledger)
    main.add_command(maintain)
