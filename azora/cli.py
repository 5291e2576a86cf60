"""The ``azora`` command line. Every command reads the same :class:`Settings`."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

import click
from sqlalchemy import text

from azora.settings import Settings
from ledger.store.engine import make_engine

if TYPE_CHECKING:
    from api.keystore import KeyStore
    from chain.audit import AuditResult
    from chain.runtime import ChainConfig
    from chain.token import AzoraToken


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Azora Ledger: an append-only double-entry ledger for money and reward tokens."""


# --- db ------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Schema and database roles."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to AZORA_DATABASE_URL."""
    from azora.db import upgrade

    settings = Settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    click.echo(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")


@db.command("grant-app-role")
@click.argument("role")
@click.option("--password", envvar="AZORA_APP_ROLE_PASSWORD", help="Create the role with it.")
def db_grant_app_role(role: str, password: str | None) -> None:
    """PostgreSQL: let ROLE run the service without rewriting the journal.

    ROLE gets SELECT and INSERT on journal tables (no UPDATE, DELETE or TRUNCATE) and
    read-write access to projections. Run it as the owner of the schema after each upgrade.
    """
    from azora.db import grant_app_role

    engine = make_engine(Settings().database_url)
    if engine.dialect.name != "postgresql":
        raise click.ClickException("roles exist on PostgreSQL only")
    journal, projections = grant_app_role(engine, role, password)
    click.echo(f"{role}: append-only on {', '.join(journal)}")
    click.echo(f"{role}: read-write on {', '.join(projections)}")


# --- ledger --------------------------------------------------------------------------


@main.group()
def ledger() -> None:
    """Checks and maintenance of the journal."""


@ledger.command("verify")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def ledger_verify(quiet: bool) -> None:
    """Replay the journal: hash chain, gapless seq, every balance. Exit 1 on any mismatch."""
    from ledger.verify import count_entries, verify

    engine = make_engine(Settings().database_url)
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
def ledger_expire_holds() -> None:
    """Record the expiry of every hold past its deadline."""
    from ledger import Ledger

    with Ledger(make_engine(Settings().database_url), group_commit=False) as book:
        total = 0
        while (count := book.expire_due_holds()) > 0:
            total += count
    click.echo(f"holds expired: {total}")


# --- serve ---------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="Default: AZORA_HOST or 127.0.0.1.")
@click.option("--port", type=int, default=None, help="Default: AZORA_PORT or 8000.")
@click.option("--workers", type=int, default=None, help="Default: AZORA_WORKERS or one per CPU.")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the HTTP API (granian: HTTP in Rust, one Python process per worker)."""
    from granian import Granian
    from granian.constants import Interfaces, Loops

    settings = Settings()
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    engine.dispose()
    if not settings.jwt_secret:
        # Development only (Settings refuse production without it): one ephemeral secret
        # for this run, shared by every worker so a token works whichever one answers.
        from api.security import ephemeral_jwt_secret

        os.environ["AZORA_JWT_SECRET"] = ephemeral_jwt_secret()
        click.echo(
            "warning: AZORA_JWT_SECRET is unset; user tokens are signed with an ephemeral "
            "secret and stop working when the server restarts",
            err=True,
        )
    if settings.anchoring and not settings.token_address:
        _prepare_chain(settings)
    Granian(
        "api.app:create_app",
        factory=True,
        address=host or settings.host,
        port=port or settings.port,
        interface=Interfaces.ASGI,
        workers=workers or settings.workers or os.cpu_count() or 1,
        loop=Loops.uvloop,
        log_access=settings.access_log,
        websockets=False,
    ).serve()


# --- keys and tokens -------------------------------------------------------------------


def _key_store() -> KeyStore:
    from api.keystore import KeyStore

    return KeyStore(make_engine(Settings().database_url))


@main.group()
def keys() -> None:
    """Service API keys (scopes: ledger:read, entries:write, admin)."""


@keys.command("create")
@click.option(
    "--scopes",
    required=True,
    help="Space- or comma-separated: ledger:read, entries:write, admin.",
)
@click.option("--name", default="", help="What the key is for, e.g. rewards-service.")
def keys_create(scopes: str, name: str) -> None:
    """Create an API key and print it (the only time it is shown)."""
    from api.security import parse_scopes, scopes_text

    try:
        wanted = parse_scopes(scopes)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--scopes") from None
    if not wanted:
        raise click.BadParameter("give at least one scope", param_hint="--scopes")
    key, plaintext = _key_store().create(wanted, name)
    click.echo(f"created key {key.id} with scopes: {scopes_text(key.scopes)}", err=True)
    click.echo("store it now, it is not shown again:", err=True)
    click.echo(plaintext)


@keys.command("list")
def keys_list() -> None:
    """List API keys (ids, names, scopes; never secrets)."""
    from api.security import scopes_text

    for key in _key_store().list():
        state = f"revoked {key.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{state}\t{scopes_text(key.scopes)}\t{key.name}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke the API key KEY_ID (servers stop accepting it within seconds)."""
    key = _key_store().revoke(key_id)
    if key is None:
        raise click.ClickException(f"no API key {key_id!r}")
    click.echo(f"revoked key {key.id}")


@main.group()
def tokens() -> None:
    """User tokens (JWT) for the wallet UI."""


@tokens.command("issue")
@click.option("--user", "user_id", required=True, help="The user id (e.g. 42).")
@click.option(
    "--ttl",
    "ttl_s",
    type=click.IntRange(60, 7 * 86400),
    default=None,
    help="Lifetime in seconds (default AZORA_USER_TOKEN_TTL_S or 3600).",
)
def tokens_issue(user_id: str, ttl_s: int | None) -> None:
    """Print a user token signed with AZORA_JWT_SECRET."""
    from api.config import ApiSettings
    from api.security import issue_user_token

    secret = Settings().jwt_secret
    if not secret:
        raise click.ClickException(
            "AZORA_JWT_SECRET is unset, so the server signs with an ephemeral secret this "
            "command cannot know: set it for both, or use POST /v1/admin/tokens"
        )
    try:
        token, expires = issue_user_token(user_id, secret, ttl_s or ApiSettings().user_token_ttl_s)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--user") from None
    click.echo(f"token for user {user_id}, expires {expires:%Y-%m-%dT%H:%M:%SZ}", err=True)
    click.echo(token)


# --- chain: deploy, anchor, audit ------------------------------------------------------


def _chain_config(settings: Settings) -> ChainConfig:
    from azora.wiring import chain_config

    return chain_config(settings)


def _prepare_chain(settings: Settings) -> None:
    """Before the workers start: a local node if needed, the token deployed or found.

    Done once here, not in each worker, so two workers never deploy twice; the address
    reaches them through AZORA_TOKEN_ADDRESS. A chain that cannot be reached is reported
    and the API serves anyway (anchoring retries in the background).
    """
    from chain.errors import ChainError
    from chain.runtime import ensure_local_node, open_token

    config = _chain_config(settings)
    try:
        started = ensure_local_node(config)
        if started is not None:
            click.echo(f"started a local anvil (pid {started}) at {config.rpc_url}", err=True)
        token = open_token(make_engine(settings.database_url), config)
    except ChainError as error:
        click.echo(f"warning: chain unavailable, anchoring will retry: {error}", err=True)
        return
    os.environ["AZORA_TOKEN_ADDRESS"] = token.address
    click.echo(f"AzoraToken at {token.address} on {config.rpc_url}", err=True)


@main.command()
@click.option("--rpc", default=None, help="Default: AZORA_CHAIN_RPC_URL.")
def deploy(rpc: str | None) -> None:
    """Deploy AzoraToken (or find the one recorded for this chain) and print its address."""
    from chain.runtime import ensure_local_node, open_token

    settings = Settings()
    if rpc:
        settings = settings.model_copy(update={"chain_rpc_url": rpc})
    config = _chain_config(settings)
    ensure_local_node(config)
    token = open_token(make_engine(settings.database_url), config)
    click.echo(token.address)


@main.command()
@click.option("--once", "mode", flag_value="once", default=True, help="One round (default).")
@click.option("--loop", "mode", flag_value="loop", help="Rounds until interrupted.")
@click.option("--force", is_flag=True, help="Anchor new leaves now, interval or not.")
def anchor(mode: str, force: bool) -> None:
    """Anchor the token log's root on chain (the same worker `azora serve` runs)."""
    import threading

    from azora.wiring import anchor_settings
    from chain.anchoring import AnchorWorker
    from chain.runtime import open_token

    settings = Settings()
    engine = make_engine(settings.database_url)
    token = open_token(engine, _chain_config(settings), deploy_if_missing=False)
    worker = AnchorWorker(engine, token, anchor_settings(settings))
    if mode == "loop":
        click.echo(f"anchoring every {settings.anchor_interval_s:g}s; Ctrl-C to stop", err=True)
        stop = threading.Event()
        try:
            worker.run_forever(stop)
        except KeyboardInterrupt:
            stop.set()
        return
    result = worker.run_once(force=force)
    size = "" if result.tree_size is None else f" tree size {result.tree_size}"
    click.echo(f"anchor: {result.action}{size} {result.detail}".rstrip())


@main.group()
def audit() -> None:
    """Verify the token history with nothing but proofs and the chain."""


def _verdict(result: AuditResult, as_json: bool) -> None:
    import json as json_module

    if as_json:
        click.echo(json_module.dumps(result.as_json(), indent=2))
    else:
        click.echo(f"{result.verdict.name}: {result.reason}")
    sys.exit(int(result.verdict))


def _read_token(rpc: str, contract: str) -> AzoraToken:
    from chain.connect import connect
    from chain.token import AzoraToken

    return AzoraToken.at(connect(rpc), contract)


@audit.command("entry")
@click.argument("proof_file", type=click.File("r"))
@click.option("--rpc", required=True, help="JSON-RPC endpoint of the chain.")
@click.option("--contract", default=None, help="Default: the proof's anchor.contract.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def audit_entry(proof_file: TextIO, rpc: str, contract: str | None, as_json: bool) -> None:
    """Check a proof from GET /v1/proofs/entries/{id} against the root on chain.

    Exit 0 valid, 1 invalid (with the reason), 2 could not check.
    """
    import json as json_module

    from chain.audit import AuditResult as Result
    from chain.audit import Verdict
    from chain.audit import audit_entry as check
    from chain.errors import ChainError

    try:
        proof = json_module.load(proof_file)
        address = contract or proof["anchor"]["contract"]
        token = _read_token(rpc, address)
    except (ValueError, KeyError, TypeError) as error:
        _verdict(Result(Verdict.UNCHECKABLE, f"cannot read the proof: {error}"), as_json)
        return
    except ChainError as error:
        _verdict(Result(Verdict.UNCHECKABLE, f"cannot read the contract: {error}"), as_json)
        return
    _verdict(check(proof, token), as_json)


@audit.command("log")
@click.option("--api", "api_url", required=True, help="Base URL of the Azora API.")
@click.option("--rpc", required=True, help="JSON-RPC endpoint of the chain.")
@click.option("--contract", required=True, help="AzoraToken address.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def audit_log(api_url: str, rpc: str, contract: str, as_json: bool) -> None:
    """Check every consecutive pair of on-chain anchors with consistency proofs.

    Exit 0 valid, 1 invalid (with the reason), 2 could not check.
    """
    from chain.audit import AuditResult as Result
    from chain.audit import Verdict, api_consistency_fetcher
    from chain.audit import audit_log as check
    from chain.errors import ChainError

    try:
        token = _read_token(rpc, contract)
    except (ChainError, ValueError) as error:
        _verdict(Result(Verdict.UNCHECKABLE, f"cannot read the contract: {error}"), as_json)
        return

    def progress(done: int, total: int) -> None:
        if not as_json:
            click.echo(f"  checked {done}/{total} anchor pairs", err=True)

    _verdict(check(token, api_consistency_fetcher(api_url), progress), as_json)


def _register_domain_commands() -> None:
    from monetization.rewards.cli import register as register_rewards

    register_rewards(main)


_register_domain_commands()


if __name__ == "__main__":
    main()
