"""``azora audit``: verify the token history with nothing but proofs and the chain.

These commands are the auditor's: they read no database and no settings of the service.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import NoReturn, TextIO

import click
from web3.exceptions import Web3Exception

from chain.audit import AuditResult, Verdict, api_consistency_fetcher
from chain.audit import audit_entry as check_entry
from chain.audit import audit_log as check_log
from chain.connect import connect
from chain.errors import ChainError
from chain.monitor import (
    DEFAULT_MAX_BLOCKS,
    MAX_BLOCKS_LIMIT,
    HttpLogApi,
    Inconsistent,
    Monitor,
    WatchUnavailable,
)
from chain.receipts import audit_receipt as check_receipt
from chain.token import AzoraToken
from chain.watch_state import StateError, WatchState

WATCH_BACKOFF_MAX_S = 300.0


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


@audit.command("receipt")
@click.argument("receipt_file", type=click.File("r"))
@click.option("--rpc", default=None, help="JSON-RPC endpoint: also check the anchor on chain.")
@click.option("--contract", default=None, help="Default: the receipt's anchor.contract.")
@click.option("--key", "pinned_key", default=None, help="The log's verifier key, pinned.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def audit_receipt(
    receipt_file: TextIO,
    rpc: str | None,
    contract: str | None,
    pinned_key: str | None,
    as_json: bool,
) -> None:
    """Check a receipt from GET /v1/proofs/entries/{id}/receipt.

    Offline: the leaf hash, the key, the checkpoint's signature and the inclusion path (the
    chain is not consulted). With --rpc also the anchor on chain: anchorAt(index) holds the
    checkpoint's size and root, and the anchor's transaction emitted it.
    Exit 0 valid, 1 invalid (with the reason), 2 could not check.
    """
    try:
        receipt = json.load(receipt_file)
    except ValueError as error:
        _verdict(AuditResult(Verdict.UNCHECKABLE, f"cannot read the receipt: {error}"), as_json)
        return
    token = None
    if rpc is not None:
        try:
            anchor = receipt.get("anchor") if isinstance(receipt, dict) else None
            address = contract or (anchor or {}).get("contract")
            if not isinstance(address, str):
                raise ValueError("the receipt names no contract (pass --contract)")
            token = _read_token(rpc, address)
        except (ChainError, ValueError, TypeError) as error:
            result = AuditResult(Verdict.UNCHECKABLE, f"cannot read the contract: {error}")
            _verdict(result, as_json)
            return
    _verdict(check_receipt(receipt, token, pinned_key), as_json)


@audit.command("watch")
@click.option("--rpc", required=True, help="JSON-RPC endpoint of the chain.")
@click.option("--contract", required=True, help="AzoraToken address.")
@click.option("--api", "api_url", default=None, help="Base URL of the Azora API.")
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to keep what was checked (resumes from it).",
)
@click.option("--key", "pinned_key", default=None, help="The log's verifier key, pinned.")
@click.option("--once", is_flag=True, help="Check up to the head, then exit.")
@click.option(
    "--interval",
    "interval_s",
    type=click.FloatRange(0.1, 3600),
    default=12.0,
    show_default=True,
    help="Seconds between polls.",
)
@click.option(
    "--max-blocks",
    type=click.IntRange(1, MAX_BLOCKS_LIMIT),
    default=DEFAULT_MAX_BLOCKS,
    show_default=True,
    help="Blocks per eth_getLogs.",
)
@click.option(
    "--confirmations",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Follow blocks this deep only.",
)
def audit_watch(
    *,
    rpc: str,
    contract: str,
    api_url: str | None,
    state_path: Path | None,
    pinned_key: str | None,
    once: bool,
    interval_s: float,
    max_blocks: int,
    confirmations: int,
) -> None:
    """Follow the contract's Anchored events; check each new anchor against the last.

    One line per anchor. Exit 1 with the reason on the first inconsistency; 2 when the
    chain, the API or the state cannot be read (with --once; otherwise it retries).
    """
    try:
        token = _read_token(rpc, contract)
        chain_id = int(token.w3.eth.chain_id)
        state = WatchState.open(state_path, chain_id, token.address)
        api = HttpLogApi(api_url) if api_url else None
        monitor = Monitor(
            token,
            state,
            api=api,
            pinned_key=pinned_key,
            max_blocks=max_blocks,
            confirmations=confirmations,
            out=click.echo,
        )
    except Inconsistent as error:
        _fail(Verdict.INVALID, str(error))
    except (ChainError, StateError, ValueError, Web3Exception, OSError) as error:
        _fail(Verdict.UNCHECKABLE, str(error))
    click.echo(
        f"watching {token.address} on chain {chain_id}" + (f" with {api_url}" if api else "")
    )
    _watch(monitor, once, interval_s)


def _fail(verdict: Verdict, reason: str) -> NoReturn:
    label = "INCONSISTENT" if verdict is Verdict.INVALID else "UNCHECKABLE"
    click.echo(f"{label}: {reason}")
    sys.exit(int(verdict))


def _watch(monitor: Monitor, once: bool, interval_s: float) -> None:
    failures = 0
    try:
        while True:
            try:
                monitor.poll()
                failures = 0
            except Inconsistent as error:
                _fail(Verdict.INVALID, str(error))
            except WatchUnavailable as error:
                if once:
                    _fail(Verdict.UNCHECKABLE, str(error))
                failures += 1
                click.echo(f"cannot check now ({error}); retrying", err=True)
            if once:
                return
            time.sleep(min(WATCH_BACKOFF_MAX_S, interval_s * 2 ** min(failures, 8)))
    except KeyboardInterrupt:
        click.echo("stopped")


def register(main: click.Group) -> None:
    main.add_command(audit)
