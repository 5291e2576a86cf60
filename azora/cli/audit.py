"""``azora audit``: verify the token history with nothing but proofs and the chain.

These commands are the auditor's: they read no database and no settings of the service.
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

import click

from chain.audit import AuditResult, Verdict, api_consistency_fetcher
from chain.audit import audit_entry as check_entry
from chain.audit import audit_log as check_log
from chain.connect import connect
from chain.errors import ChainError
from chain.token import AzoraToken


@click.group()
def audit() -> None:
    """Verify the token history with nothing but proofs and the chain."""


def _verdict(result: AuditResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        click.echo(f"{result.verdict.name}: {result.reason}")
    sys.exit(int(result.verdict))


def _read_token(rpc: str, contract: str) -> AzoraToken:
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
    try:
        proof = json.load(proof_file)
        address = contract or proof["anchor"]["contract"]
        token = _read_token(rpc, address)
    except (ValueError, KeyError, TypeError) as error:
        _verdict(AuditResult(Verdict.UNCHECKABLE, f"cannot read the proof: {error}"), as_json)
        return
    except ChainError as error:
        _verdict(AuditResult(Verdict.UNCHECKABLE, f"cannot read the contract: {error}"), as_json)
        return
    _verdict(check_entry(proof, token), as_json)


@audit.command("log")
@click.option("--api", "api_url", required=True, help="Base URL of the Azora API.")
@click.option("--rpc", required=True, help="JSON-RPC endpoint of the chain.")
@click.option("--contract", required=True, help="AzoraToken address.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def audit_log(api_url: str, rpc: str, contract: str, as_json: bool) -> None:
    """Check every consecutive pair of on-chain anchors with consistency proofs.

    Exit 0 valid, 1 invalid (with the reason), 2 could not check.
    """
    try:
        token = _read_token(rpc, contract)
    except (ChainError, ValueError) as error:
        _verdict(AuditResult(Verdict.UNCHECKABLE, f"cannot read the contract: {error}"), as_json)
        return

    def progress(done: int, total: int) -> None:
        if not as_json:
            click.echo(f"  checked {done}/{total} anchor pairs", err=True)

    _verdict(check_log(token, api_consistency_fetcher(api_url), progress), as_json)


def register(main: click.Group) -> None:
    main.add_command(audit)
