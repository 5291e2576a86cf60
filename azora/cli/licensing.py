"""``azora license verify KEY [--keys FILE]``, ``azora license rotate-key`` and
``azora licensing sla-check [--now ISO-8601]``.

``license verify`` with ``--keys`` (the JSON of ``GET /v1/licenses/keys``) works offline:
it reads no settings and no database, and says that revocation was not checked. Exit
status 0 for a valid key, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from azora.cli.base import CliState, pass_state
from azora.cli.billing import parse_now
from monetization.licensing.keyformat import Verdict, public_key_from_text, verify

KEYS_FILE_MAX_BYTES = 1024 * 1024


def read_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """The public keys of a ``GET /v1/licenses/keys`` answer saved to ``path``."""
    try:
        raw = path.read_bytes()[: KEYS_FILE_MAX_BYTES + 1]
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror}") from None
    try:
        listed = json.loads(raw)["keys"] if len(raw) <= KEYS_FILE_MAX_BYTES else None
    except (ValueError, TypeError, KeyError):
        listed = None
    if not isinstance(listed, list):
        raise click.ClickException(f"{path} is not the JSON of GET /v1/licenses/keys")
    keys = {}
    for item in listed:
        if isinstance(item, dict) and item.get("alg") == "Ed25519":
            public = public_key_from_text(item.get("public_key"))
            if public is not None and isinstance(item.get("kid"), str):
                keys[item["kid"]] = public
    return keys


def describe(verdict: Verdict) -> str:
    claims = verdict.claims
    if claims is None:
        return f"invalid: {verdict.reason}"
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims.exp))
    about = (
        f"license {claims.lid} of {claims.org}: {claims.tier}, {claims.seats} seats, "
        f"expires {expires} (key {claims.kid})"
    )
    return f"valid: {about}" if verdict.valid else f"invalid: {verdict.reason}: {about}"


@click.group("license")
def license_group() -> None:
    """License keys: verification (offline too) and signing-key rotation."""


@license_group.command("verify")
@click.argument("key")
@click.option(
    "--keys",
    "keys_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The saved answer of GET /v1/licenses/keys: verify offline, without a database.",
)
@click.option("--now", "now_text", default=None, help="Verify as of this instant (ISO-8601).")
@pass_state
def verify_command(state: CliState, key: str, keys_file: Path | None, now_text: str | None) -> None:
    """Check KEY (an azl1 license key; `-` reads it from standard input)."""
    if key == "-":
        key = sys.stdin.read(16_384).strip()
    at = parse_now(now_text)
    if keys_file is not None:
        keys = read_keys(keys_file)
        now_s = int(at.timestamp()) if at else int(time.time())
        verdict = verify(key, keys.get, now_s)
        click.echo(describe(verdict))
        click.echo("offline: revocation was not checked (POST /v1/licenses/validate does)")
    else:
        licensing = state.container().licensing
        verdict = licensing.licenses.validate(key)
        click.echo(describe(verdict))
    sys.exit(0 if verdict.valid else 1)


@license_group.command("rotate-key")
@pass_state
def rotate_key(state: CliState) -> None:
    """Retire the active signing key and make a new one. Keys signed by the retired key
    keep verifying until they expire; new licenses are signed by the new key."""
    old, new = state.container().licensing.signing.rotate()
    click.echo(f"license signing key: {new} active" + (f", {old} retired" if old else ""))


@click.group("licensing")
def licensing_group() -> None:
    """Enterprise licensing upkeep."""


@licensing_group.command("sla-check")
@click.option("--now", "now_text", default=None, help="Check as of this instant (ISO-8601).")
@pass_state
def sla_check(state: CliState, now_text: str | None) -> None:
    """Flag support tickets past their first-response or resolution target (once each)."""
    click.echo(state.container().licensing.check_sla(parse_now(now_text)).line())


def register(main: click.Group) -> None:
    main.add_command(license_group)
    main.add_command(licensing_group)
