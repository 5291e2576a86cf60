"""Secrets a development set-up keeps under the data directory instead of asking for them.

A development server and the ``azora`` command run beside it must agree on the JWT secret
(``azora tokens issue``), and a restart must not invalidate every user token: the first
process that needs one generates it into a file of its own (mode 0600); every later one,
and every other worker, reads that file. Production refuses to run without the real
settings (:mod:`azora.production`), so these files are never used there.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_BYTES = 48


def dev_secret(path: Path) -> str:
    """The secret stored at ``path``, generated (once, race-free) if missing."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(SECRET_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its secret
        return _read(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def _read(path: Path) -> str:
    value = path.read_text(encoding="utf-8").strip()
    if not value:  # a writer that created the file has not written it yet
        raise FileNotFoundError(path)
    return value
