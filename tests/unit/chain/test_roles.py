"""AccessControl: who may anchor, mint, and grant or revoke those rights."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chain import ANCHOR_ROLE, DEFAULT_ADMIN_ROLE, MINTER_ROLE, AzoraToken, TransactionReverted
from chain.token import ROLES
from tests.unit.chain.conftest import InProcessChain

ROOT = b"\x11" * 32


def test_role_ids_match_the_contract(admin: AzoraToken) -> None:
    for name, role_id in ROLES.items():
        assert bytes(admin.contract.functions[name]().call()) == role_id


def test_deployer_holds_every_role(admin: AzoraToken, chain_env: InProcessChain) -> None:
    deployer = chain_env.accounts[0].address
    for role in (DEFAULT_ADMIN_ROLE, ANCHOR_ROLE, MINTER_ROLE):
        assert admin.has_role(role, deployer)
    assert not admin.has_role(ANCHOR_ROLE, chain_env.accounts[1].address)


def test_no_anchor_without_anchor_role(
    chain_env: InProcessChain, as_account: Callable[[int], AzoraToken]
) -> None:
    with pytest.raises(TransactionReverted) as err:
        as_account(1).anchor(1, ROOT)
    assert err.value.error_name == "AccessControlUnauthorizedAccount"
    assert err.value.error_args == (chain_env.accounts[1].address, ANCHOR_ROLE)


def test_no_mint_without_minter_role(
    chain_env: InProcessChain, as_account: Callable[[int], AzoraToken]
) -> None:
    with pytest.raises(TransactionReverted) as err:
        as_account(1).mint(chain_env.accounts[1].address, 1)
    assert err.value.error_name == "AccessControlUnauthorizedAccount"
    assert err.value.error_args == (chain_env.accounts[1].address, MINTER_ROLE)


def test_admin_grants_then_revokes_anchor_role(
    admin: AzoraToken, chain_env: InProcessChain, as_account: Callable[[int], AzoraToken]
) -> None:
    worker = chain_env.accounts[1].address
    result = admin.grant_role(ANCHOR_ROLE, worker)
    granted = admin.contract.events.RoleGranted().process_receipt(chain_env.receipt(result.tx_hash))
    assert dict(granted[0]["args"]) == {
        "role": ANCHOR_ROLE,
        "account": worker,
        "sender": chain_env.accounts[0].address,
    }
    as_account(1).anchor(1, ROOT)
    assert admin.anchor_count() == 1

    admin.revoke_role(ANCHOR_ROLE, worker)
    assert not admin.has_role(ANCHOR_ROLE, worker)
    with pytest.raises(TransactionReverted, match="AccessControlUnauthorizedAccount"):
        as_account(1).anchor(2, ROOT)


def test_admin_grants_minter_role(
    admin: AzoraToken, chain_env: InProcessChain, as_account: Callable[[int], AzoraToken]
) -> None:
    admin.grant_role(MINTER_ROLE, chain_env.accounts[1].address)
    as_account(1).mint(chain_env.accounts[2].address, 7)
    assert admin.balance_of(chain_env.accounts[2].address) == 7


def test_non_admin_cannot_grant_or_revoke(
    chain_env: InProcessChain, as_account: Callable[[int], AzoraToken]
) -> None:
    outsider = as_account(1)
    for action in (outsider.grant_role, outsider.revoke_role):
        with pytest.raises(TransactionReverted) as err:
            action(ANCHOR_ROLE, chain_env.accounts[1].address)
        assert err.value.error_name == "AccessControlUnauthorizedAccount"
        assert err.value.error_args == (chain_env.accounts[1].address, DEFAULT_ADMIN_ROLE)


def test_anchor_role_does_not_grant_minting(
    admin: AzoraToken, chain_env: InProcessChain, as_account: Callable[[int], AzoraToken]
) -> None:
    admin.grant_role(ANCHOR_ROLE, chain_env.accounts[1].address)
    with pytest.raises(TransactionReverted, match="AccessControlUnauthorizedAccount"):
        as_account(1).mint(chain_env.accounts[1].address, 1)


def test_supports_access_control_and_erc165_interfaces(admin: AzoraToken) -> None:
    supports = admin.contract.functions.supportsInterface
    assert supports(bytes.fromhex("7965db0b")).call()  # IAccessControl
    assert supports(bytes.fromhex("01ffc9a7")).call()  # IERC165
    assert not supports(bytes.fromhex("ffffffff")).call()
