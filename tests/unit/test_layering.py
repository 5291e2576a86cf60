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


# The ledger's private modules: its tables, engine, journal writer and read queries. Domains
# and the HTTP layer use what ``ledger`` exports (and its value modules), never these.
LEDGER_PRIVATE = ("ledger.store", "ledger.journal", "ledger.reads", "ledger.writer")
# What a domain may import of the ledger: its public API and the pure value modules.
DOMAIN_LEDGER_IMPORTS = ("ledger", "ledger.errors", "ledger.money", "ledger.model")


def ledger_imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every ledger module ``path`` imports; ``from ledger import store`` names ledger.store."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            if node.module == "ledger":
                for alias in node.names:
                    yield node.lineno, f"ledger.{alias.name}"


def is_under(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


@pytest.mark.parametrize("folder", ["monetization", "api"])
def test_no_private_ledger_module_is_imported_from(folder: str) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules(folder)
        for line, name in ledger_imports(path)
        if is_under(name, LEDGER_PRIVATE)
    ]
    assert found == []


def test_domains_use_only_the_ledgers_public_api() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules("monetization")
        for line, name in imports(path)
        if name.split(".")[0] == "ledger" and name not in DOMAIN_LEDGER_IMPORTS
    ]
    assert found == []


def test_the_private_module_check_sees_every_form_of_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "import ledger.store.tables\n"
        "from ledger.journal import load_entries_where\n"
        "from ledger import reads, Ledger\n"
        "def f():\n"
        "    from ledger.writer import DirectWriter\n"
        "from ledger.model import Entry\n"
        "from ledger import WRITE_TXN\n",
        encoding="utf-8",
    )
    private = [n for _, n in ledger_imports(source) if is_under(n, LEDGER_PRIVATE)]
    assert private == ["ledger.store.tables", "ledger.journal", "ledger.reads", "ledger.writer"]


def test_migrations_import_nothing_of_the_application() -> None:
    allowed = {"alembic", "sqlalchemy", "migrations", "__future__", *sys.stdlib_module_names}
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules("migrations")
        for line, name in imports(path)
        if name.split(".")[0] not in allowed
    ]
    assert found == []
