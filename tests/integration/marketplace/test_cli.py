"""``azora marketplace release [--now]`` on a migrated SQLite database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from azora.cli import main

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("now", "code", "out"),
    [
        (None, 0, "marketplace: 0 released, 0 recovered"),
        ("2030-02-01T00:00:00Z", 0, "marketplace: 0 released"),
        ("9999-12-31T23:59:59-14:00", 2, "--now"),
        ("not-a-date", 2, "ISO-8601"),
    ],
)
def test_release_command(
    make_db_url: Callable[[str], str], tmp_path: Path, now: str | None, code: int, out: str
) -> None:
    env = {
        "AZORA_DATABASE_URL": make_db_url("sqlite"),
        "AZORA_ANCHORING": "off",
        "AZORA_DATA_DIR": str(tmp_path),
        "AZORA_JWT_SECRET": "cli-jwt-secret-" * 4,
    }
    args = ["marketplace", "release", *(["--now", now] if now else [])]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == code, result.output
    assert out in result.output
