"""README's licensing walk-through, run as written against a fresh server (twice: the
second run changes nothing and still verifies)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BLOCK = re.compile(r"<!-- licensing:begin -->\s*```sh\n(.*?)```\s*<!-- licensing:end -->", re.S)
ADMIN_KEY = "e2e-walkthrough-admin-key-0123456789abcdef"


def test_the_readme_walkthrough_runs(e2e_db: str, tmp_path: Path) -> None:
    match = BLOCK.search((ROOT / "README.md").read_text())
    assert match, "README.md lost its licensing walk-through"
    env = {"AZORA_ADMIN_API_KEY": ADMIN_KEY, "AZORA_DATA_DIR": str(tmp_path / "data")}
    server = start_server(e2e_db, tmp_path / "server.log", **env)
    try:
        script = "set -euo pipefail\n" + match.group(1).replace("http://127.0.0.1:8000", server.url)
        path = f"{Path(sys.executable).parent}:{server.env.get('PATH', '/usr/bin:/bin')}"
        outputs = []
        for _ in range(2):
            done = subprocess.run(
                ["bash", "-c", script], env={**server.env, "AZORA_KEY": ADMIN_KEY, "PATH": path},
                cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            assert "azora.dev/problems/" not in done.stdout, done.stdout
            outputs.append(done.stdout)
        for out in outputs:
            assert '"valid":true' in out and '"client_secret_set":true' in out
            assert "valid: license " in out and "of acme: enterprise, 10 seats" in out
            assert "change-me" not in out  # the SSO secret is never answered
        assert '"month_total":1200' in outputs[1]  # the usage event counted once
        assert '"first_response_met":2' in outputs[1]  # the second run's ticket, answered too
    finally:
        server.stop()
    assert "Traceback" not in server.log()
