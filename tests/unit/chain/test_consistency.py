"""The contract's consistency check (what ``anchor`` enforces) against the project's verifier
(``ledger.merkle``) and the naive reference (``keccak_tree``), on every (m, n) up to 64.

Every pair is checked honest on chain; corrupted proofs (bit flip, truncated, extended,
wrong old size, empty, swapped roots) are checked exhaustively off chain between the two
Python verifiers, and on chain for every pair with one corruption each (rotating through the
kinds) plus every kind for n <= 16: an eth_call on py-evm costs ~6 ms, the full product
would take a minute and find nothing the rotation does not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from chain import AzoraToken, TransactionReverted
from ledger.merkle import MemoryTree, verify_consistency
from tests.unit.chain import keccak_tree as ref
from tests.unit.chain.conftest import InProcessChain

MAX_SIZE = 64
ALL_KINDS_UP_TO = 16


@dataclass(frozen=True)
class Claim:
    m: int
    n: int
    root_m: bytes
    root_n: bytes
    proof: list[bytes]


@pytest.fixture(scope="module")
def log() -> ref.Log:
    return ref.Log(MAX_SIZE)


@pytest.fixture(scope="module")
def tree(log: ref.Log) -> MemoryTree:
    memory = MemoryTree()
    memory.extend(log.leaves)
    return memory


def honest(log: ref.Log, m: int, n: int) -> Claim:
    return Claim(m, n, log.root(m), log.root(n), ref.consistency(m, log.leaves[:n]))


def _flip(node: bytes, bit: int) -> bytes:
    out = bytearray(node)
    out[bit // 8 % 32] ^= 1 << (bit % 8)
    return bytes(out)


CORRUPTIONS: dict[str, Callable[[Claim, ref.Log], Claim]] = {
    "bit flip": lambda c, _: Claim(
        c.m, c.n, c.root_m, c.root_n, [_flip(c.proof[0], c.m * 7 + c.n), *c.proof[1:]]
    ),
    "truncated": lambda c, _: Claim(c.m, c.n, c.root_m, c.root_n, c.proof[:-1]),
    "extended": lambda c, _: Claim(c.m, c.n, c.root_m, c.root_n, [*c.proof, c.root_n]),
    "wrong old size": lambda c, log: Claim(
        c.m + 1 if c.m + 1 < c.n else c.m - 1,
        c.n,
        c.root_m,
        c.root_n,
        c.proof,
    ),
    "empty": lambda c, _: Claim(c.m, c.n, c.root_m, c.root_n, []),
    "swapped roots": lambda c, _: Claim(c.m, c.n, c.root_n, c.root_m, c.proof),
}
KINDS = list(CORRUPTIONS)


def pairs() -> Iterator[tuple[int, int]]:
    for n in range(2, MAX_SIZE + 1):
        for m in range(1, n):
            yield m, n


def on_chain(token: AzoraToken, c: Claim) -> bool:
    return token.verify_consistency(c.m, c.n, c.root_m, c.root_n, c.proof)


def local(c: Claim) -> bool:
    if c.m == 0:
        return False
    return verify_consistency(c.m, c.n, c.root_m, c.root_n, c.proof)


def test_the_three_proof_generators_agree(log: ref.Log, tree: MemoryTree) -> None:
    for m, n in pairs():
        assert tree.consistency_proof(m, n) == honest(log, m, n).proof, (m, n)


def test_every_corruption_of_every_pair_off_chain(log: ref.Log) -> None:
    """The project's verifier and the naive reference agree on every claim."""
    for m, n in pairs():
        claim = honest(log, m, n)
        assert local(claim) and ref.consistent(m, n, *_parts(claim), log.leaves)
        for kind, corrupt in CORRUPTIONS.items():
            bad = corrupt(claim, log)
            naive = ref.consistent(bad.m, bad.n, *_parts(bad), log.leaves)
            assert local(bad) is naive is False, (kind, m, n)


def _parts(c: Claim) -> tuple[bytes, bytes, list[bytes]]:
    return c.root_m, c.root_n, c.proof


def test_every_honest_pair_verifies_on_chain(admin: AzoraToken, log: ref.Log) -> None:
    for m, n in pairs():
        assert on_chain(admin, honest(log, m, n)), (m, n)


def test_corrupted_proofs_are_refused_on_chain(admin: AzoraToken, log: ref.Log) -> None:
    checked: dict[str, int] = dict.fromkeys(KINDS, 0)
    for i, (m, n) in enumerate(pairs()):
        kinds = KINDS if n <= ALL_KINDS_UP_TO else [KINDS[i % len(KINDS)]]
        claim = honest(log, m, n)
        for kind in kinds:
            bad = CORRUPTIONS[kind](claim, log)
            assert on_chain(admin, bad) is local(bad) is False, (kind, m, n)
            checked[kind] += 1
    assert min(checked.values()) >= 300, checked


def test_sizes_no_proof_can_link_are_false_not_reverts(admin: AzoraToken, log: ref.Log) -> None:
    r = log.root(3)
    assert not admin.verify_consistency(0, 3, r, r, [])
    assert not admin.verify_consistency(3, 3, r, r, [])
    assert not admin.verify_consistency(4, 3, r, r, [r])
    assert not admin.verify_consistency(2**64, 3, r, r, [r])  # not encodable: False locally


@pytest.mark.parametrize("m", [1, 2, 3, 5, 8, 13, 32, 33, 63])
def test_anchor_itself_accepts_honest_and_refuses_corrupted_extensions(
    admin: AzoraToken, chain_env: InProcessChain, log: ref.Log, m: int
) -> None:
    """The state-changing path: with (m, root_m) anchored, every n > m is simulated."""
    admin.anchor(m, log.root(m), [])
    for n in range(m + 1, MAX_SIZE + 1):
        claim = honest(log, m, n)
        admin.simulate("anchor", n, claim.root_n, claim.proof)
        for kind in ("bit flip", "truncated", "extended", "empty"):
            bad = CORRUPTIONS[kind](claim, log)
            with pytest.raises(TransactionReverted) as err:
                admin.simulate("anchor", n, bad.root_n, bad.proof)
            assert err.value.error_name == "AzoraInconsistentAnchor", (kind, m, n)
            assert err.value.error_args == (m, n)
    assert admin.anchor_count() == 1
