"""The chain adapter of the rewards domain's :class:`~monetization.rewards.fulfilment.Minter`
port: withdrawals mint AZR through the process's one sender and the chain-write saga.

Only the chain's expected failures become the port's errors (:class:`ChainError` →
``MintFailed`` when nothing was sent, ``MintPending`` when the outcome is not known yet);
anything else is a bug and propagates untouched, so the workflow leaves the user's hold as
it was. The token is opened on first use: the chain may be down when the service starts.
"""

from __future__ import annotations

from collections.abc import Callable

from eth_utils.address import to_checksum_address

from chain.errors import ChainError, TransactionReverted, TransactionTimeout
from chain.saga import ChainWrite, ChainWriteSaga, WrongChain
from chain.sender import SignedTx
from chain.token import AzoraToken
from monetization.rewards.fulfilment import MintFailed, MintPending, MintReceipt, MintStatus
from monetization.rewards.model import MintState, SignedMint

GAPPED_MAX = 1000


def _write(signed: SignedMint) -> ChainWrite:
    return ChainWrite(signed.chain_id, signed.signer, signed.nonce, signed.raw, signed.tx_hash)


class ChainMinter:
    """A Minter over ``token()`` (the runtime's binding) and ``saga()`` (its saga)."""

    def __init__(self, token: Callable[[], AzoraToken], saga: Callable[[], ChainWriteSaga]) -> None:
        self._token = token
        self._saga = saga
        # Mints that inspect() found waiting behind a nonce gap: their next broadcast goes
        # through the saga, which closes the gap once it has lasted.
        self._gapped: set[str] = set()

    def sign_mint(self, to: str, amount: int) -> SignedMint:
        try:
            token = self._token()
            sender = token._require_sender()
            signed = token.sign("mint", to_checksum_address(to), amount)
            return SignedMint(
                sender.chain_id(), sender.address, signed.nonce, signed.raw, signed.tx_hash
            )
        except ChainError as error:
            raise MintFailed(f"mint refused: {error}") from error

    def broadcast(self, signed: SignedMint) -> None:
        try:
            sender = self._token()._require_sender()
            sender.broadcast(SignedTx(signed.nonce, signed.raw, signed.tx_hash))
        except ChainError as error:  # recorded either way: inspect() says what became of it
            raise MintPending(f"mint {signed.tx_hash} not sent: {error}") from error

    def discard(self, signed: SignedMint) -> None:
        try:
            sender = self._token()._require_sender()
        except ChainError:
            return  # no binding, so nothing was reserved in this process
        sender.release(SignedTx(signed.nonce, signed.raw, signed.tx_hash))

    def wait_mint(self, tx_hash: str) -> MintReceipt:
        try:
            result = self._token().wait(tx_hash, "mint")
        except TransactionReverted as error:
            raise MintFailed(f"mint reverted: {error}") from error
        except TransactionTimeout as error:
            raise MintPending(str(error)) from error
        except ChainError as error:
            raise MintPending(f"cannot read the mint's receipt: {error}") from error
        return MintReceipt(result.tx_hash, result.block_number)

    def inspect(self, signed: SignedMint) -> MintStatus:
        try:
            verdict = self._saga().check(_write(signed))
            if verdict.gap and len(self._gapped) < GAPPED_MAX:
                self._gapped.add(signed.tx_hash)
            detail = verdict.detail
            if verdict.state.value == MintState.FAILED.value:
                detail = self._revert_reason(signed.tx_hash) or f"mint {detail}"
        except (ChainError, WrongChain) as error:
            raise MintPending(f"cannot read mint {signed.tx_hash}: {error}") from error
        return MintStatus(MintState(verdict.state.value), verdict.resend, detail)

    def _revert_reason(self, tx_hash: str) -> str | None:
        try:
            self._token().wait(tx_hash, "mint")  # replays the call to name the error
        except ChainError as error:
            return f"mint reverted: {error}"
        return None

    def total_supply(self) -> int:
        try:
            return self._token().total_supply()
        except ChainError as error:
            raise MintPending(f"cannot read totalSupply: {error}") from error
