"""The two lock files: runtime (what `make run` installs) and dev (tests and lint tools)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[_canon(name)] = version.strip()
    return pins


def _direct(spec: str) -> tuple[str, str]:
    name, version = re.split(r"==", spec)
    return _canon(re.sub(r"\[.*\]", "", name)), version


def test_runtime_and_dev_locks_are_disjoint_and_pin_every_direct_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-dev.lock")
    assert not set(runtime) & set(dev)
    for spec in project["dependencies"]:
        name, version = _direct(spec)
        assert runtime.get(name) == version, spec
    for spec in project["optional-dependencies"]["dev"]:
        name, version = _direct(spec)
        assert dev.get(name) == version, spec
    for tool in ("pytest", "ruff", "mypy", "hypothesis", "schemathesis"):
        assert tool not in runtime


def test_make_run_installs_only_the_runtime_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    runtime_rule = makefile.split("$(BIN)/.installed:")[1].split("\n\n")[0]
    assert "requirements.lock" in runtime_rule and "requirements-dev.lock" not in runtime_rule
    assert re.search(r"^run: deps$", makefile, re.M)
    for target in ("test", "lint"):
        assert re.search(rf"^{target}: dev-deps$", makefile, re.M), target
