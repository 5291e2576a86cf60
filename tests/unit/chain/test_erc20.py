"""ERC-20 behaviour, after OpenZeppelin's shouldBehaveLikeERC20 suite."""

from __future__ import annotations

import pytest

from chain import AzoraToken, TransactionReverted
from tests.unit.chain.conftest import InProcessChain

INITIAL = 100 * 10**18
MAX_UINT256 = 2**256 - 1
ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture
def funded(admin: AzoraToken, chain_env: InProcessChain) -> InProcessChain:
    """Account 1 (the holder) starts with INITIAL tokens."""
    admin.mint(chain_env.accounts[1].address, INITIAL)
    return chain_env


def events(
    env: InProcessChain, token: AzoraToken, tx_hash: str, name: str
) -> list[dict[str, object]]:
    receipt = env.receipt(tx_hash)
    return [dict(e["args"]) for e in token.contract.events[name]().process_receipt(receipt)]


def test_metadata(admin: AzoraToken) -> None:
    assert (admin.name(), admin.symbol(), admin.decimals()) == ("Azora Token", "AZR", 18)
    assert admin.total_supply() == 0


def test_mint_increases_supply_and_balance_and_emits_transfer(
    admin: AzoraToken, chain_env: InProcessChain
) -> None:
    holder = chain_env.accounts[1].address
    result = admin.mint(holder, INITIAL)
    assert admin.total_supply() == INITIAL
    assert admin.balance_of(holder) == INITIAL
    assert events(chain_env, admin, result.tx_hash, "Transfer") == [
        {"from": ZERO, "to": holder, "value": INITIAL}
    ]


def test_mint_to_zero_address_reverts(admin: AzoraToken) -> None:
    with pytest.raises(TransactionReverted) as err:
        admin.mint(ZERO, 1)
    assert err.value.error_name == "ERC20InvalidReceiver"


class TestTransfer:
    def test_moves_tokens_and_emits_transfer(self, funded: InProcessChain) -> None:
        holder, recipient = funded.token(1), funded.accounts[2].address
        result = holder.transfer(recipient, INITIAL)
        assert holder.balance_of(funded.accounts[1].address) == 0
        assert holder.balance_of(recipient) == INITIAL
        assert holder.total_supply() == INITIAL
        assert events(funded, holder, result.tx_hash, "Transfer") == [
            {"from": funded.accounts[1].address, "to": recipient, "value": INITIAL}
        ]

    def test_zero_amount_is_allowed(self, funded: InProcessChain) -> None:
        holder = funded.token(1)
        result = holder.transfer(funded.accounts[2].address, 0)
        assert events(funded, holder, result.tx_hash, "Transfer")[0]["value"] == 0
        assert holder.balance_of(funded.accounts[1].address) == INITIAL

    def test_more_than_balance_reverts_with_insufficient_balance(
        self, funded: InProcessChain
    ) -> None:
        holder = funded.token(1)
        with pytest.raises(TransactionReverted) as err:
            holder.transfer(funded.accounts[2].address, INITIAL + 1)
        assert err.value.error_name == "ERC20InsufficientBalance"
        assert err.value.error_args == (funded.accounts[1].address, INITIAL, INITIAL + 1)
        assert holder.balance_of(funded.accounts[1].address) == INITIAL

    def test_to_zero_address_reverts(self, funded: InProcessChain) -> None:
        with pytest.raises(TransactionReverted) as err:
            funded.token(1).transfer(ZERO, 1)
        assert err.value.error_name == "ERC20InvalidReceiver"

    def test_to_self_keeps_balance(self, funded: InProcessChain) -> None:
        holder = funded.token(1)
        holder.transfer(funded.accounts[1].address, INITIAL)
        assert holder.balance_of(funded.accounts[1].address) == INITIAL


class TestApprove:
    def test_sets_allowance_and_emits_approval(self, funded: InProcessChain) -> None:
        owner, spender = funded.token(1), funded.accounts[3].address
        result = owner.approve(spender, 5)
        assert owner.allowance(funded.accounts[1].address, spender) == 5
        assert events(funded, owner, result.tx_hash, "Approval") == [
            {"owner": funded.accounts[1].address, "spender": spender, "value": 5}
        ]

    def test_replaces_previous_allowance(self, funded: InProcessChain) -> None:
        owner, spender = funded.token(1), funded.accounts[3].address
        owner.approve(spender, 5)
        owner.approve(spender, 2)
        assert owner.allowance(funded.accounts[1].address, spender) == 2

    def test_more_than_balance_is_allowed(self, funded: InProcessChain) -> None:
        owner, spender = funded.token(1), funded.accounts[3].address
        owner.approve(spender, INITIAL * 2)
        assert owner.allowance(funded.accounts[1].address, spender) == INITIAL * 2

    def test_zero_spender_reverts(self, funded: InProcessChain) -> None:
        with pytest.raises(TransactionReverted) as err:
            funded.token(1).approve(ZERO, 1)
        assert err.value.error_name == "ERC20InvalidSpender"


class TestTransferFrom:
    def test_spends_allowance_and_moves_tokens(self, funded: InProcessChain) -> None:
        owner_address, to = funded.accounts[1].address, funded.accounts[2].address
        funded.token(1).approve(funded.accounts[3].address, 40)
        spender = funded.token(3)
        result = spender.transfer_from(owner_address, to, 30)
        assert spender.balance_of(owner_address) == INITIAL - 30
        assert spender.balance_of(to) == 30
        assert spender.allowance(owner_address, funded.accounts[3].address) == 10
        assert events(funded, spender, result.tx_hash, "Transfer") == [
            {"from": owner_address, "to": to, "value": 30}
        ]

    def test_unlimited_allowance_is_not_spent(self, funded: InProcessChain) -> None:
        owner_address = funded.accounts[1].address
        funded.token(1).approve(funded.accounts[3].address, MAX_UINT256)
        spender = funded.token(3)
        spender.transfer_from(owner_address, funded.accounts[2].address, 30)
        assert spender.allowance(owner_address, funded.accounts[3].address) == MAX_UINT256

    def test_beyond_allowance_reverts(self, funded: InProcessChain) -> None:
        funded.token(1).approve(funded.accounts[3].address, 10)
        with pytest.raises(TransactionReverted) as err:
            funded.token(3).transfer_from(
                funded.accounts[1].address, funded.accounts[2].address, 11
            )
        assert err.value.error_name == "ERC20InsufficientAllowance"
        assert err.value.error_args == (funded.accounts[3].address, 10, 11)

    def test_beyond_balance_reverts_even_with_allowance(self, funded: InProcessChain) -> None:
        funded.token(1).approve(funded.accounts[3].address, MAX_UINT256)
        with pytest.raises(TransactionReverted) as err:
            funded.token(3).transfer_from(
                funded.accounts[1].address, funded.accounts[2].address, INITIAL + 1
            )
        assert err.value.error_name == "ERC20InsufficientBalance"

    def test_without_approval_reverts(self, funded: InProcessChain) -> None:
        with pytest.raises(TransactionReverted) as err:
            funded.token(3).transfer_from(funded.accounts[1].address, funded.accounts[2].address, 1)
        assert err.value.error_name == "ERC20InsufficientAllowance"
