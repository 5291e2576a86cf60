"""The README's Python section, run as written (a fresh interpreter, the README's
variables) against a fresh server, twice: a rerun replays instead of paying again."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, LiveServer

pytestmark = pytest.mark.integration

_BLOCK = re.compile(r"<!-- python-client:begin -->\s*```python\n(.*?)```", re.S)


def test_readme_python_snippet_runs(server: LiveServer, admin_key: str) -> None:
    match = _BLOCK.search((ROOT / "README.md").read_text())
    assert match, "README.md lost its Python client block"
    env = {**server.env, "AZORA_URL": server.url, "AZORA_KEY": admin_key}
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", match.group(1)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    first, second = outputs
    assert "new" in first.splitlines()[0] and "replayed" in second.splitlines()[0]
    assert "0 201 posted" in first and "1 409 insufficient-funds" in first
    assert "refused: insufficient-funds request " in first
    assert "dan has 5.00" in first and "dan has 5.00" in second
