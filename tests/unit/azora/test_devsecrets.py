"""Development secrets kept under the data directory: made once, then shared."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from azora.devsecrets import dev_secret


def test_generated_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "jwt-secret"
    first = dev_secret(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dev_secret(path) == first


def test_racing_processes_agree_on_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "jwt-secret"
    with ThreadPoolExecutor(8) as pool:
        found = set(pool.map(lambda _: dev_secret(path), range(32)))
    assert found == {path.read_text().strip()}
