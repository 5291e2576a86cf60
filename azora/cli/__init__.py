"""The ``azora`` command line. Every command reads the same settings and takes its services
from the composition root (:mod:`azora.bootstrap`)."""

from __future__ import annotations

import click

from azora.cli.base import AzoraGroup, CliState


@click.group(cls=AzoraGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Azora Ledger: an append-only double-entry ledger for money and reward tokens."""
    state = CliState()
    ctx.obj = state
    ctx.call_on_close(state.close)


def _register() -> None:
    from azora.cli import (
        audit,
        backup,
        billing,
        chain,
        database,
        keys,
        ledger,
        licensing,
        marketplace,
        rewards,
        serve,
        webhooks,
    )

    modules = (database, ledger, serve, keys, chain, audit, rewards, billing)
    for module in (*modules, marketplace, licensing, webhooks, backup):
        module.register(main)


_register()

__all__ = ["main"]
