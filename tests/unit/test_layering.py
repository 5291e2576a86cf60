"""The layout's rules, checked on the source: who may import whom, and who may read the
environment (DESIGN §2, §9). A new import that breaks a rule fails here, naming the line."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_PACKAGES = ("ledger", "chain", "monetization", "api", "azora", "migrations")


def modules(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def violations(folders: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in modules(*folders):
        for line, name in imports(path):
            if name.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return found


@pytest.mark.parametrize(
    ("folders", "forbidden"),
    [
        (("ledger",), ("fastapi", "starlette", "web3", "eth_account", "chain", "api", "azora")),
        (("ledger",), ("monetization",)),
        (("api", "monetization", "chain"), ("azora",)),
        (("chain",), ("api", "fastapi")),
        (("monetization",), ("api", "fastapi")),
        (("clients/python/src",), SERVER_PACKAGES),
    ],
)
def test_no_import_runs_against_the_layers(
    folders: tuple[str, ...], forbidden: tuple[str, ...]
) -> None:
    assert violations(folders, forbidden) == []


def test_migrations_import_nothing_of_the_application() -> None:
    allowed = {"alembic", "sqlalchemy", "migrations", "__future__", *sys.stdlib_module_names}
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules("migrations")
        for line, name in imports(path)
        if name.split(".")[0] not in allowed
    ]
    assert found == []
