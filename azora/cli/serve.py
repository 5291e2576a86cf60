"""``azora serve``: the HTTP API, its background jobs, and (development) a local chain."""

from __future__ import annotations

import os

import click

from azora.cli.base import CliState, pass_state
from azora.logs import logging_config
from azora.settings import Settings
from chain.errors import ChainError
from chain.localnode import stop_pid
from chain.redact import redact_url
from chain.runtime import ensure_local_node


def _prepare_chain(state: CliState) -> int | None:
    """Before the workers start: a local node if needed, the token deployed or found.

    Done once here, not in each worker, so two workers never deploy twice; the address
    reaches them through AZORA_TOKEN_ADDRESS. A chain that cannot be reached is reported
    and the API serves anyway (anchoring retries in the background). Returns the PID of a
    local node started here (stopped again when serving ends).
    """
    container = state.container()
    config = container.chain_config()
    started: int | None = None
    try:
        started = ensure_local_node(config)
        if started is not None:
            where = redact_url(config.rpc_url)
            click.echo(f"started a local anvil (pid {started}) at {where}", err=True)
        token = container.chain.deploy()
    except ChainError as error:
        click.echo(f"warning: chain unavailable, anchoring will retry: {error}", err=True)
        return started
    os.environ["AZORA_TOKEN_ADDRESS"] = token.address
    click.echo(f"AzoraToken at {token.address}", err=True)
    return started


SHUTDOWN_GRACE_S = 30  # past the longest SSE stream: the jobs' and writers' own stop


def default_workers() -> int:
    """One HTTP worker per two CPUs, at least one.

    Each worker has its own group-commit writer, and the writers take the journal head lock
    in turn: more workers split the same commits into smaller batches. Measured on 2 CPUs
    (docs/performance.md, round 2): one worker gave single entries at 1.0-1.56x the peer
    with p99 32-57 ms, two workers 0.84-1.12x with p99 58-73 ms, and batches the same within
    the noise (3.0-4.1x against 2.3-5.5x). Half the CPUs leaves the other half to PostgreSQL.
    """
    return max(1, (os.cpu_count() or 1) // 2)


@click.command()
@click.option("--host", default=None, help="Default: AZORA_HOST or 127.0.0.1.")
@click.option("--port", type=int, default=None, help="Default: AZORA_PORT or 8000.")
@click.option(
    "--workers", type=int, default=None, help="Default: AZORA_WORKERS or one per two CPUs."
)
@pass_state
def serve(state: CliState, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the HTTP API (and, beside it, anchoring and maintenance) with granian: HTTP in
    Rust, one Python process per worker."""
    from granian import Granian
    from granian.constants import Interfaces, Loops

    container = state.container()  # refuses a missing database or insecure production
    container.jwt_secret  # noqa: B018 - generated once here, read by every worker
    settings: Settings = container.settings
    started = _prepare_chain(state) if settings.anchoring and not settings.token_address else None
    state.close()  # the workers build their own containers
    try:
        Granian(
            "azora.asgi:create_app",
            factory=True,
            address=host or settings.host,
            port=port or settings.port,
            interface=Interfaces.ASGI,
            workers=workers or settings.workers or default_workers(),
            loop=Loops.uvloop,
            log_dictconfig=logging_config(log_format=settings.log_format),
            log_access=False,  # the app writes access lines itself, with the request id
            websockets=False,
            # A stopping worker waits for open responses; SSE streams end within
            # AZORA_EVENTS_STREAM_MAX_S (their clients resume elsewhere), then the rest stops.
            workers_kill_timeout=int(settings.events_stream_max_s) + SHUTDOWN_GRACE_S,
            # A worker that dies (OOM killer, a crash, SIGKILL) is started again; the
            # others serve meanwhile. Without this the whole server would exit.
            respawn_failed_workers=True,
        ).serve()
    finally:
        if started is not None:
            click.echo(f"stopping the local anvil (pid {started})", err=True)
            stop_pid(started)


def register(main: click.Group) -> None:
    main.add_command(serve)
