"""The storage port for course materials, and its local-directory adapter.

Files are stored by the SHA-256 of their bytes (content-addressed: the same file uploaded
twice is stored once). A :class:`BlobWriter` receives the bytes as they arrive, hashing and
writing to a temporary file, and :meth:`BlobWriter.commit` moves it to its final name
atomically; nothing half-written is ever visible under a hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

SHA256_RE = re.compile(r"[0-9a-f]{64}")


class BlobWriter(Protocol):
    def write(self, chunk: bytes) -> None: ...

    def commit(self) -> tuple[str, int]:
        """Store what was written; returns (sha256 hex, size in bytes)."""
        ...

    def abort(self) -> None: ...


class BlobStore(Protocol):
    def writer(self) -> BlobWriter: ...

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes (FileNotFoundError when absent)."""
        ...


class LocalBlobWriter:
    def __init__(self, store: LocalBlobStore) -> None:
        self._store = store
        self._temp = store.temp_dir / f"{uuid.uuid4().hex}.part"
        self._file: BinaryIO | None = open(self._temp, "xb")  # noqa: SIM115 (closed in commit/abort)
        self._hash = hashlib.sha256()
        self._size = 0

    def write(self, chunk: bytes) -> None:
        assert self._file is not None, "writer already closed"
        self._file.write(chunk)
        self._hash.update(chunk)
        self._size += len(chunk)

    def commit(self) -> tuple[str, int]:
        assert self._file is not None, "writer already closed"
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        digest = self._hash.hexdigest()
        final = self._store.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._temp, final)  # atomic; the same bytes may already be there
        return digest, self._size

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._temp.unlink(missing_ok=True)


class LocalBlobStore:
    """Files under ``root`` (``<data_dir>/media`` by default): ``ab/cd/<sha256>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.temp_dir = root / "tmp"

    def writer(self) -> LocalBlobWriter:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        return LocalBlobWriter(self)

    def path(self, sha256: str) -> Path:
        if not SHA256_RE.fullmatch(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")
