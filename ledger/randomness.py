"""Random bytes for ids, from ``os.urandom`` 4 KiB at a time.

``os.urandom`` lets go of the interpreter lock for its system call, and a thread that lets
go of it waits to get it back behind any other thread that wanted it meanwhile. The writer
thread making an id per entry and the event loop making a request id per request would
otherwise hand the lock to each other once per entry: measured, up to a fifth of the
writer's time went to waiting for it. Fetching the bytes in blocks makes that one system
call per 256 ids. The bytes are the operating system's; each thread keeps its own block,
and a forked child starts afresh (it must not hand out its parent's bytes again).
"""

from __future__ import annotations

import os
import threading

BLOCK_BYTES = 4096


class _Block(threading.local):
    data = b""
    used = 0


_block = _Block()


def _forget() -> None:
    _block.data, _block.used = b"", 0  # the child's only thread is the one that forked


os.register_at_fork(after_in_child=_forget)


def random_bytes(n: int) -> bytes:
    """``n`` bytes from ``os.urandom``, never handed out twice (a request larger than a
    block gets a block of its own)."""
    block = _block
    end = block.used + n
    if end > len(block.data):
        block.data, block.used, end = os.urandom(max(BLOCK_BYTES, n)), 0, n
    start, block.used = block.used, end
    return block.data[start:end]
