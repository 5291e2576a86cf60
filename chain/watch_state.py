"""What ``azora audit watch`` remembers between runs: one small JSON file, rewritten whole
(write, fsync, rename) after every anchor it checks, so a killed monitor resumes where it
stopped and never re-trusts what it has not checked."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_VERSION = 1


class StateError(ValueError):
    """The state file cannot be read, or belongs to another chain or contract."""


@dataclass(frozen=True, slots=True)
class Head:
    """An anchored tree head the monitor has checked."""

    index: int
    tree_size: int
    root: bytes

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "tree_size": self.tree_size, "root": "0x" + self.root.hex()}

    @classmethod
    def from_json(cls, value: Any) -> Head:
        root = value["root"]
        if not isinstance(root, str) or len(root) != 66 or not root.startswith("0x"):
            raise StateError("a head's root is a 0x-prefixed 32-byte hex string")
        index, size = value["index"], value["tree_size"]
        if type(index) is not int or type(size) is not int or index < 0 or size < 1:
            raise StateError("a head has a non-negative index and a positive tree size")
        return cls(index, size, bytes.fromhex(root[2:]))


@dataclass
class WatchState:
    chain_id: int
    contract: str
    next_block: int | None = None  # None: the existing anchors are not caught up yet
    last: Head | None = None
    key: str | None = None  # the log's verifier key, pinned on first use or by --key
    origin: str | None = None
    checkpoint_size: int | None = None
    path: Path | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "chain_id": self.chain_id,
            "contract": self.contract,
            "next_block": self.next_block,
            "last": self.last.as_json() if self.last else None,
            "key": self.key,
            "origin": self.origin,
            "checkpoint_size": self.checkpoint_size,
        }

    def save(self) -> None:
        """Atomically replace the state file (nothing to do without one)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.as_json(), handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(scratch, self.path)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise

    @classmethod
    def open(cls, path: Path | None, chain_id: int, contract: str) -> WatchState:
        """The state kept at ``path`` (a fresh one when there is no file yet)."""
        if path is None or not path.exists():
            return cls(chain_id, contract, path=path)
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
            if value.get("version") != STATE_VERSION:
                raise StateError(f"state version {value.get('version')!r}, want {STATE_VERSION}")
            state = cls(
                chain_id=value["chain_id"],
                contract=value["contract"],
                next_block=value["next_block"],
                last=Head.from_json(value["last"]) if value["last"] else None,
                key=value["key"],
                origin=value["origin"],
                checkpoint_size=value["checkpoint_size"],
                path=path,
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise StateError(f"cannot read the state file {path}: {error}") from None
        if (state.chain_id, state.contract.lower()) != (chain_id, contract.lower()):
            raise StateError(
                f"the state file {path} follows {state.contract} on chain {state.chain_id}, "
                f"not {contract} on chain {chain_id}"
            )
        return state
