"""``azora deploy`` and ``azora anchor``: the contract and the anchoring worker."""

from __future__ import annotations

import threading

import click

from azora.cli.base import CliState, pass_state
from chain.runtime import ensure_local_node


@click.command()
@click.option("--rpc", default=None, help="Default: AZORA_CHAIN_RPC_URL.")
@pass_state
def deploy(state: CliState, rpc: str | None) -> None:
    """Deploy AzoraToken (or find the one recorded for this chain) and print its address."""
    if rpc:
        state.overrides["chain_rpc_url"] = rpc
    container = state.container()
    ensure_local_node(container.chain_config())
    click.echo(container.chain.deploy().address)


@click.command()
@click.option("--once", "mode", flag_value="once", default=True, help="One round, now (default).")
@click.option("--loop", "mode", flag_value="loop", help="Rounds until interrupted.")
@click.option("--resume", "mode", flag_value="resume", help="Lift a halt once its cause is fixed.")
@click.option(
    "--force", is_flag=True, hidden=True, help="Kept for old scripts: --once anchors now."
)
@pass_state
def anchor(state: CliState, mode: str, force: bool) -> None:
    """Anchor the token log's root on chain (the worker `azora serve` runs).

    `--once` anchors every new leaf now; the interval (AZORA_ANCHOR_INTERVAL_S) paces only
    the background loop (`--loop`, and `azora serve`). A refused anchor or a rewritten log
    halts anchoring until `--resume` (contracts/README.md, "When anchoring halts").
    """
    del force  # --once always anchors now
    container = state.container()
    worker = container.chain.anchor_worker(container.anchor_settings())
    if mode == "resume":
        click.echo(f"anchoring resumed ({worker.resume()} alert(s) cleared)")
        return
    if mode == "loop":
        interval_s = container.settings.anchor_interval_s
        click.echo(f"anchoring every {interval_s:g}s; Ctrl-C to stop", err=True)
        stop = threading.Event()
        try:
            worker.run_forever(stop)
        except KeyboardInterrupt:
            stop.set()
        return
    result = worker.run_once(now=True)
    size = "" if result.tree_size is None else f" tree size {result.tree_size}"
    click.echo(f"anchor: {result.action}{size} {result.detail}".rstrip())


def register(main: click.Group) -> None:
    main.add_command(deploy)
    main.add_command(anchor)
