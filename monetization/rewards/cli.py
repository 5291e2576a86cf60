"""``azora rewards ...`` and ``azora reconcile``. Register both on the main group with
:func:`register` (``register(main)`` in ``azora/cli.py``)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import click

from ledger import AZR, Ledger, format_amount
from monetization.rewards.fulfilment import Minter
from monetization.rewards.reconcile import reconcile as reconcile_supply

CHECK_SHOWN_MAX = 20
# The chain adapter, given by the composition root through :func:`register` (None: no chain).
_wiring: dict[str, Callable[[], Minter] | None] = {"minter": None}


def _ledger() -> Ledger:
    from azora.settings import Settings
    from ledger.store.engine import make_engine

    return Ledger(make_engine(Settings().database_url), group_commit=False)


@click.group()
def rewards() -> None:
    """Token rewards: leaderboard projection and redemption upkeep."""


@rewards.command("rebuild-leaderboards")
def rebuild_leaderboards() -> None:
    """Recompute the leaderboard projection from the journal."""
    from monetization.rewards.leaderboard import Projector

    with _ledger() as book:
        started = time.perf_counter()
        rows = Projector(book.engine).rebuild()
        click.echo(f"leaderboards rebuilt: {rows} scores in {time.perf_counter() - started:.1f}s")


@rewards.command("check-leaderboards")
def check_leaderboards() -> None:
    """Compare the projection with the journal; exit 1 on any difference."""
    from monetization.rewards.leaderboard import Projector

    with _ledger() as book:
        problems = Projector(book.engine).check()
    for line in problems[:CHECK_SHOWN_MAX]:
        click.echo(line, err=True)
    if problems:
        click.echo(f"leaderboards differ from the ledger: {len(problems)} scores", err=True)
        sys.exit(1)
    click.echo("leaderboards match the ledger")


@rewards.command("settle")
def settle() -> None:
    """Finish open redemptions: crashed requests, expired holds, unconfirmed mints."""
    from monetization.rewards import Rewards

    with _ledger() as book:
        service = Rewards(book, minter=_wiring["minter"])
        looked_at = service.redemptions.settle()
    click.echo(f"redemptions settled: {looked_at} looked at")


def run_reconcile(book: Ledger, minter: Minter) -> int:
    """Print the comparison; the exit status (0 equal, 1 not)."""
    report = reconcile_supply(book, minter)
    click.echo(f"on-chain totalSupply:        {format_amount(report.total_supply, AZR)} AZR")
    click.echo(f"ledger platform:azr:withdrawn: {format_amount(report.withdrawn, AZR)} AZR")
    if report.minting:
        click.echo(f"withdrawals still minting:   {report.minting}")
    if report.ok:
        click.echo("reconciled: equal")
        return 0
    diff = report.total_supply - report.withdrawn
    click.echo(f"MISMATCH: supply - withdrawn = {format_amount(diff, AZR)} AZR", err=True)
    return 1


@click.command("reconcile")
def reconcile() -> None:
    """The token's totalSupply against the ledger's withdrawn balance; exit 1 if unequal."""
    factory = _wiring["minter"]
    if factory is None:
        raise click.ClickException("no chain is configured: nothing to reconcile with")
    with _ledger() as book:
        sys.exit(run_reconcile(book, factory()))


def register(main: click.Group, minter: Callable[[], Minter] | None = None) -> None:
    """Adds the commands; ``minter`` builds the chain adapter when a command needs it."""
    _wiring["minter"] = minter
    main.add_command(rewards)
    main.add_command(reconcile)
