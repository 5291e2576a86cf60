"""``azora keys`` (service API keys) and ``azora tokens`` (user tokens for the wallet UI)."""

from __future__ import annotations

import click

from api.security import issue_user_token, parse_scopes, scopes_text
from azora.cli.base import CliState, pass_state


@click.group()
def keys() -> None:
    """Service API keys (scopes: ledger:read, entries:write, admin)."""


@keys.command("create")
@click.option(
    "--scopes",
    required=True,
    help="Space- or comma-separated: ledger:read, entries:write, admin.",
)
@click.option("--name", default="", help="What the key is for, e.g. rewards-service.")
@pass_state
def keys_create(state: CliState, scopes: str, name: str) -> None:
    """Create an API key and print it (the only time it is shown)."""
    try:
        wanted = parse_scopes(scopes)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--scopes") from None
    if not wanted:
        raise click.BadParameter("give at least one scope", param_hint="--scopes")
    key, plaintext = state.container().keys.create(wanted, name)
    click.echo(f"created key {key.id} with scopes: {scopes_text(key.scopes)}", err=True)
    click.echo("store it now, it is not shown again:", err=True)
    click.echo(plaintext)


@keys.command("list")
@pass_state
def keys_list(state: CliState) -> None:
    """List API keys (ids, names, scopes; never secrets)."""
    for key in state.container().keys.list():
        status = f"revoked {key.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{status}\t{scopes_text(key.scopes)}\t{key.name}")


@keys.command("revoke")
@click.argument("key_id")
@pass_state
def keys_revoke(state: CliState, key_id: str) -> None:
    """Revoke the API key KEY_ID (servers stop accepting it within seconds)."""
    key = state.container().keys.revoke(key_id)
    if key is None:
        raise click.ClickException(f"no API key {key_id!r}")
    click.echo(f"revoked key {key.id}")


@click.group()
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
@pass_state
def tokens_issue(state: CliState, user_id: str, ttl_s: int | None) -> None:
    """Print a user token signed with the server's secret (AZORA_JWT_SECRET, or in
    development the one kept under .azora/)."""
    container = state.container()
    ttl_s = ttl_s or container.settings.user_token_ttl_s
    try:
        token, expires = issue_user_token(user_id, container.jwt_secret, ttl_s)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--user") from None
    click.echo(f"token for user {user_id}, expires {expires:%Y-%m-%dT%H:%M:%SZ}", err=True)
    click.echo(token)


def register(main: click.Group) -> None:
    main.add_command(keys)
    main.add_command(tokens)
