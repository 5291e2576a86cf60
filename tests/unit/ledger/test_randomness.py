"""Random bytes fetched in blocks: never repeated, across threads and across a fork."""

from __future__ import annotations

import os
import threading

import pytest

from ledger.randomness import BLOCK_BYTES, random_bytes


def test_bytes_are_never_handed_out_twice_within_a_thread_or_across_blocks() -> None:
    seen = [random_bytes(16) for _ in range(3 * BLOCK_BYTES // 16 + 7)]  # past three blocks
    assert all(len(b) == 16 for b in seen)
    assert len(set(seen)) == len(seen)


def test_threads_draw_from_blocks_of_their_own() -> None:
    drawn: list[list[bytes]] = [[] for _ in range(4)]

    def draw(n: int) -> None:
        drawn[n] = [random_bytes(16) for _ in range(1000)]

    threads = [threading.Thread(target=draw, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [b for ids in drawn for b in ids]
    assert len(set(every)) == len(every) == 4000


def test_a_request_larger_than_what_is_left_of_the_block_takes_a_fresh_one() -> None:
    random_bytes(BLOCK_BYTES - 3)
    big = random_bytes(BLOCK_BYTES)
    assert len(big) == BLOCK_BYTES
    assert len(random_bytes(10)) == 10


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parents_bytes() -> None:
    random_bytes(16)  # the parent holds a block with bytes still unused
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next bytes and leave at once
        os.write(write, random_bytes(16))
        os._exit(0)
    os.close(write)
    child = os.read(read, 16)
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child) == 16
    assert child != random_bytes(16)  # without the reset both would take the same next bytes
