"""``azora webhooks``: the delivery worker from the command line (cron, or no server)."""

from __future__ import annotations

import click

from azora.cli.base import CliState, pass_state

ROUNDS_MAX = 1000


@click.group()
def webhooks() -> None:
    """Webhook deliveries (the serving processes run them by themselves)."""


@webhooks.command("deliver")
@pass_state
def webhooks_deliver(state: CliState) -> None:
    """Send every delivery that is due now, then exit (safe beside running servers)."""
    service = state.container().webhooks
    delivered = failed = given_up = 0
    for _ in range(ROUNDS_MAX):
        report = service.deliver()
        delivered += report.delivered
        failed += report.failed_attempts
        given_up += report.given_up
        if report.endpoints == 0:
            break
    click.echo(f"webhooks: {delivered} delivered, {failed} failed attempts, {given_up} given up")


def register(main: click.Group) -> None:
    main.add_command(webhooks)
