"""The ``azora`` command line. Every command reads the same :class:`Settings`."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click
from sqlalchemy import text

from azora.settings import Settings
from ledger.store.engine import make_engine

if TYPE_CHECKING:
    from api.keystore import KeyStore


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
@click.option("--workers", type=int, default=None, help="Default: AZORA_WORKERS or 1.")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the HTTP API."""
    import uvicorn

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
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        loop="uvloop",
        http="httptools",
    )


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


if __name__ == "__main__":
    main()
