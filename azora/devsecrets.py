"""Secrets a development set-up keeps under the data directory instead of asking for them.

A development server and the ``azora`` command run beside it must agree on the JWT secret
(``azora tokens issue``), and a restart must not invalidate every user token: the first
process that needs one generates it into a file of its own (mode 0600); every later one,
and every other worker, reads that file. Production refuses to run without the real
settings (:mod:`azora.production`), so these files are never used there.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

SECRET_BYTES = 48


def dev_secret(path: Path) -> str:
    """The secret stored at ``path``, generated (once, race-free) if missing.

    The new secret is written whole to a file of its own, then hard-linked into place: the
    link fails if another process got there first, and no reader ever sees a half-written
    file.
    """
    if path.is_file():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp's file is mode 0600
            handle.write(secrets.token_urlsafe(SECRET_BYTES) + "\n")
        with contextlib.suppress(FileExistsError):  # another process won: use its secret
            os.link(scratch, path)
    finally:
        os.unlink(scratch)
    return _read(path)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()
