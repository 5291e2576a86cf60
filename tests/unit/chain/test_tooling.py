"""Deployment records, keys, retries, revert decoding and the anvil locator, without a node."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import requests
from eth_account import Account
from eth_tester.exceptions import TransactionFailed
from web3 import Web3
from web3.exceptions import ContractCustomError

from chain import (
    ChainUnavailable,
    ContractNotDeployed,
    SignerKeyError,
    TransactionReverted,
    deploy_or_reuse,
    load_account,
    read_deployments,
)
from chain.deploy import recorded_token
from chain.keys import is_public_dev_key
from chain.localnode import ANVIL_CHAIN_ID, ANVIL_DEV_KEY, find_anvil
from chain.retry import RetryPolicy, call_with_retry
from chain.revert import error_selectors, to_reverted
from chain.token import AzoraToken
from tests.unit.chain.conftest import FAST, InProcessChain

ZERO = "0x0000000000000000000000000000000000000000"


class TestDeployments:
    def test_deploys_once_then_reuses(self, chain_env: InProcessChain, tmp_path: Path) -> None:
        path = tmp_path / "deployments.json"
        first = deploy_or_reuse(chain_env.w3, chain_env.accounts[0], path, settings=FAST)
        again = deploy_or_reuse(chain_env.w3, chain_env.accounts[0], path, settings=FAST)
        assert not first.reused and again.reused
        assert again.deployment == first.deployment
        assert again.code_matches_artifact
        chain_id = chain_env.w3.eth.chain_id
        assert read_deployments(path)[chain_id].address == first.token.address
        assert json.loads(path.read_text())[str(chain_id)]["address"] == first.token.address

    def test_redeploys_when_recorded_address_has_no_code(
        self, chain_env: InProcessChain, tmp_path: Path
    ) -> None:
        path = tmp_path / "deployments.json"
        first = deploy_or_reuse(chain_env.w3, chain_env.accounts[0], path, settings=FAST)
        chain_env.tester.revert_to_snapshot(chain_env.deployed_snapshot)  # a "reset" chain
        second = deploy_or_reuse(chain_env.w3, chain_env.accounts[0], path, settings=FAST)
        assert not second.reused
        assert second.token.address == first.token.address  # same deployer nonce, same address
        assert second.token.has_role(b"\x00" * 32, chain_env.accounts[0].address)

    def test_recorded_token_needs_a_record(self, chain_env: InProcessChain, tmp_path: Path) -> None:
        with pytest.raises(ContractNotDeployed):
            recorded_token(chain_env.w3, None, tmp_path / "none.json", settings=FAST)

    def test_binding_to_an_address_without_code_fails(self, chain_env: InProcessChain) -> None:
        with pytest.raises(ContractNotDeployed):
            AzoraToken.at(chain_env.w3, "0x" + "12" * 20, settings=FAST)

    def test_zero_admin_is_refused(self, chain_env: InProcessChain) -> None:
        with pytest.raises(TransactionReverted):
            AzoraToken.deploy(chain_env.w3, chain_env.accounts[0], ZERO, settings=FAST)

    def test_read_only_binding_refuses_to_send(self, chain_env: InProcessChain) -> None:
        token = AzoraToken(chain_env.w3, chain_env.token_address, settings=FAST)
        assert token.anchor_count() == 0
        with pytest.raises(Exception, match="read-only"):
            token.anchor(1, b"\x01" * 32)


class TestKeys:
    def test_hex_key(self) -> None:
        key = "0x" + "11" * 32
        assert load_account(key, chain_id=1).key.hex() == "11" * 32
        assert load_account("11" * 32, chain_id=1).key.hex() == "11" * 32

    def test_key_file(self, tmp_path: Path) -> None:
        path = tmp_path / "key"
        path.write_text("22" * 32 + "\n")
        assert load_account(str(path), chain_id=1).key.hex() == "22" * 32

    def test_keystore_file(self, tmp_path: Path) -> None:
        path = tmp_path / "keystore.json"
        path.write_text(json.dumps(Account.encrypt(bytes.fromhex("33" * 32), "pw", iterations=2)))
        assert load_account(str(path), chain_id=1, keystore_password="pw").key.hex() == "33" * 32
        with pytest.raises(SignerKeyError, match="password"):
            load_account(str(path), chain_id=1)
        with pytest.raises(SignerKeyError, match="decrypt") as wrong:
            load_account(str(path), chain_id=1, keystore_password="not-pw")
        assert "not-pw" not in str(wrong.value)

    def test_dev_key_only_on_anvil(self) -> None:
        assert load_account(None, chain_id=ANVIL_CHAIN_ID).key.hex() == ANVIL_DEV_KEY[2:]
        assert load_account("  ", chain_id=ANVIL_CHAIN_ID).key.hex() == ANVIL_DEV_KEY[2:]
        with pytest.raises(SignerKeyError):
            load_account(None, chain_id=1)

    def test_garbage_is_refused_without_echoing_it(self, tmp_path: Path) -> None:
        with pytest.raises(SignerKeyError) as refused:
            load_account("not-a-key-but-a-secret", chain_id=1)
        assert "secret" not in str(refused.value)
        (tmp_path / "bad").write_text("0x1234")
        with pytest.raises(SignerKeyError):
            load_account(str(tmp_path / "bad"), chain_id=1)

    def test_reads_no_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AZORA_ANCHOR_PRIVATE_KEY", "0x" + "44" * 32)
        with pytest.raises(SignerKeyError):
            load_account(None, chain_id=1)

    def test_public_dev_keys_are_recognised(self) -> None:
        Account.enable_unaudited_hdwallet_features()
        mnemonic = "test test test test test test test test test test test junk"
        for i in range(10):
            key = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").key.hex()
            assert is_public_dev_key(key) and is_public_dev_key(key.upper().removeprefix("0X"))
        assert is_public_dev_key(ANVIL_DEV_KEY)
        assert not is_public_dev_key("0x" + "11" * 32)


class TestRetry:
    def test_retries_transient_failures_with_capped_backoff(self) -> None:
        sleeps: list[float] = []
        failures = [requests.exceptions.ConnectionError("down"), ConnectionError("down")]

        def flaky() -> int:
            if failures:
                raise failures.pop(0)
            return 7

        policy = RetryPolicy(attempts=3, initial_delay_s=0.5, max_delay_s=0.75)
        assert call_with_retry(flaky, policy, "probe", sleep=sleeps.append) == 7
        assert sleeps == [0.5, 0.75]

    def test_gives_up_with_chain_unavailable(self) -> None:
        sleeps: list[float] = []

        def down() -> None:
            raise requests.exceptions.Timeout("slow")

        with pytest.raises(ChainUnavailable, match="after 4 tries"):
            call_with_retry(down, RetryPolicy(attempts=4), "probe", sleep=sleeps.append)
        assert len(sleeps) == 3

    def test_does_not_retry_other_errors(self) -> None:
        def broken() -> None:
            raise ValueError("bug")

        with pytest.raises(ValueError):
            call_with_retry(broken, RetryPolicy(attempts=5), "probe", sleep=lambda _: None)

    def test_unreachable_node_raises_chain_unavailable(self) -> None:
        from chain.connect import connect
        from chain.localnode import free_port
        from chain.sender import TxSettings

        w3 = connect(f"http://127.0.0.1:{free_port()}", timeout_s=0.5)
        settings = TxSettings(retry=RetryPolicy(attempts=2, initial_delay_s=0.01))
        token = AzoraToken(w3, "0x" + "12" * 20, settings=settings)
        with pytest.raises(ChainUnavailable):
            token.anchor_count()


class TestRevertDecoding:
    selectors = error_selectors(
        [
            {
                "type": "error",
                "name": "AzoraTreeSizeNotIncreasing",
                "inputs": [{"type": "uint64"}, {"type": "uint64"}],
            }
        ]
    )
    data = bytes.fromhex(
        Web3.keccak(text="AzoraTreeSizeNotIncreasing(uint64,uint64)")[:4].hex()
        + (5).to_bytes(32, "big").hex()
        + (9).to_bytes(32, "big").hex()
    )

    def test_eth_tester_shape(self) -> None:
        exc = TransactionFailed(f"execution reverted: {self.data!r}")
        reverted = to_reverted(exc, self.selectors, "anchor")
        assert (reverted.error_name, reverted.error_args) == ("AzoraTreeSizeNotIncreasing", (5, 9))

    def test_json_rpc_shape(self) -> None:
        exc = ContractCustomError("0x" + self.data.hex(), data="0x" + self.data.hex())
        reverted = to_reverted(exc, self.selectors, "anchor")
        assert (reverted.error_name, reverted.error_args) == ("AzoraTreeSizeNotIncreasing", (5, 9))

    def test_unknown_error_keeps_the_message(self) -> None:
        reverted = to_reverted(TransactionFailed("execution reverted: boom"), self.selectors, "x")
        assert reverted.error_name is None and "boom" in str(reverted)


def test_find_anvil_honours_the_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "anvil"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("AZORA_ANVIL_BIN", str(fake))
    assert find_anvil() == fake
