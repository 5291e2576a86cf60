"""The Dockerfile and compose.yaml keep their essentials: a non-root service built from the
lock file, healthchecks, the service waiting for a healthy database and chain, migrations
on start, and no secret written into either file or sent into the build."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
SECRET_WORDS = re.compile(r"SECRET|PASSWORD|PRIVATE_KEY|API_KEY|SIGNING_KEY|ENCRYPTION_KEY", re.I)


def _stages() -> dict[str, list[str]]:
    """Instructions of each named stage (joined continuation lines, comments dropped)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: dict[str, list[str]] = {"": []}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+\S+(?:\s+AS\s+(\S+))?", line, re.I)
        if match:
            current = match.group(1) or f"final-{len(stages)}"
            stages[current] = []
        stages[current].append(line)
    return stages


def _instructions(stage: list[str], word: str) -> list[str]:
    return [line for line in stage if line.split()[0].upper() == word]


def test_the_service_runs_as_a_non_root_user_with_a_healthcheck() -> None:
    stages = _stages()
    service = stages["service"]
    users = _instructions(service, "USER")
    assert users, "the service stage sets a USER"
    assert users[-1].split()[1].split(":")[0] not in ("root", "0")
    assert _instructions(service, "HEALTHCHECK")
    assert "/healthz" in _instructions(service, "HEALTHCHECK")[0]
    final = list(stages.values())[-1]
    assert final[0].split()[1] == "service", "the default target is the service"
    anvil = stages["anvil"]
    assert _instructions(anvil, "USER")[-1].split()[1].split(":")[0] not in ("root", "0")
    assert _instructions(anvil, "HEALTHCHECK")


def test_the_image_installs_the_locked_dependencies_and_applies_migrations_on_start() -> None:
    build = " ".join(_stages()["build"])
    assert re.search(r"pip install [^&]*-r \S*requirements\.lock", build)
    service = _stages()["service"]
    assert any("azora-entrypoint" in line for line in _instructions(service, "ENTRYPOINT"))
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert entrypoint.index("azora db upgrade") < entrypoint.index("exec azora serve")


def test_no_secret_is_baked_into_the_image() -> None:
    for stage in _stages().values():
        for line in _instructions(stage, "ENV") + _instructions(stage, "ARG"):
            assert not SECRET_WORDS.search(line), line
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    assert "*" in ignored, "the build context is a list of what is allowed in"
    allowed = [line[1:] for line in ignored if line.startswith("!")]
    for local in (".azora", ".env", ".venv", "node_modules", "tests"):
        assert not any(local == a or local.startswith(a + "/") for a in allowed), local


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_compose_has_the_database_the_chain_and_the_service_with_healthchecks() -> None:
    services = _compose()["services"]
    assert set(services) == {"db", "anvil", "azora"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has a healthcheck"
    depends = services["azora"]["depends_on"]
    assert depends["db"]["condition"] == "service_healthy"
    assert depends["anvil"]["condition"] == "service_healthy"
    env = services["azora"]["environment"]
    assert "@db:5432/" in env["AZORA_DATABASE_URL"]
    assert env["AZORA_CHAIN_RPC_URL"] == "http://anvil:8545"


def test_compose_takes_every_secret_from_the_environment() -> None:
    for name, service in _compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_WORDS.search(key) or ("@" in str(value) and "://" in str(value)):
                assert re.search(r"\$\{POSTGRES_PASSWORD:\?", str(value)), (name, key)
            assert not re.search(r"^AZORA_.*(SECRET|KEY)", key), (name, key)
