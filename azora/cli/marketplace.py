"""``azora marketplace release [--now ISO-8601]``: move matured shares to available."""

from __future__ import annotations

import click

from azora.cli.base import CliState, pass_state
from azora.cli.billing import parse_now


@click.group()
def marketplace() -> None:
    """Course marketplace upkeep."""


@marketplace.command("release")
@click.option("--now", "now_text", default=None, help="Release as of this instant (ISO-8601).")
@pass_state
def release(state: CliState, now_text: str | None) -> None:
    """Release every instructor share whose refund window has closed (pending to
    available), finish purchases and refunds a crash left half-done, and repay
    receivables. Safe to run twice or concurrently: each share moves once. Prints
    `marketplace: N released, N recovered`."""
    now = parse_now(now_text)
    report = state.container().marketplace.maintain(now)
    click.echo(report.line())


def register(main: click.Group) -> None:
    main.add_command(marketplace)
