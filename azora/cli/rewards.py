"""``azora rewards ...`` and ``azora reconcile``: upkeep of the rewards domain."""

from __future__ import annotations

import sys
import time

import click

from azora.cli.base import CliState, pass_state
from ledger import AZR, format_amount
from monetization.rewards.reconcile import reconcile as reconcile_supply

CHECK_SHOWN_MAX = 20


@click.group()
def rewards() -> None:
    """Token rewards: leaderboard projection and redemption upkeep."""


@rewards.command("rebuild-leaderboards")
@pass_state
def rebuild_leaderboards(state: CliState) -> None:
    """Recompute the leaderboard projection from the journal."""
    projector = state.container().rewards.projector
    started = time.perf_counter()
    rows = projector.rebuild()
    click.echo(f"leaderboards rebuilt: {rows} scores in {time.perf_counter() - started:.1f}s")


@rewards.command("check-leaderboards")
@pass_state
def check_leaderboards(state: CliState) -> None:
    """Compare the projection with the journal; exit 1 on any difference."""
    problems = state.container().rewards.projector.check()
    for line in problems[:CHECK_SHOWN_MAX]:
        click.echo(line, err=True)
    if problems:
        click.echo(f"leaderboards differ from the ledger: {len(problems)} scores", err=True)
        sys.exit(1)
    click.echo("leaderboards match the ledger")


@rewards.command("settle")
@pass_state
def settle(state: CliState) -> None:
    """Finish open redemptions: crashed requests, expired holds, unconfirmed mints."""
    looked_at = state.container().rewards.redemptions.settle()
    click.echo(f"redemptions settled: {looked_at} looked at")


@click.command("reconcile")
@pass_state
def reconcile(state: CliState) -> None:
    """The token's totalSupply against the ledger's withdrawn balance; exit 1 if unequal."""
    container = state.container()
    if not container.settings.anchoring:
        raise click.ClickException("anchoring is off (AZORA_ANCHORING): no chain to reconcile with")
    report = reconcile_supply(container.ledger, container.chain.minter)
    click.echo(f"on-chain totalSupply:        {format_amount(report.total_supply, AZR)} AZR")
    click.echo(f"ledger platform:azr:withdrawn: {format_amount(report.withdrawn, AZR)} AZR")
    if report.minting:
        click.echo(f"withdrawals still minting:   {report.minting}")
    if report.ok:
        click.echo("reconciled: equal")
        return
    diff = report.total_supply - report.withdrawn
    click.echo(f"MISMATCH: supply - withdrawn = {format_amount(diff, AZR)} AZR", err=True)
    sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(rewards)
    main.add_command(reconcile)
