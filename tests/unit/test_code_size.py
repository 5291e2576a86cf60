"""Files stay small enough to read in one sitting (DESIGN §9, STYLE): no production module
over 500 lines, no function over 70, no class over 400. Checked on the source with ``ast``;
a new breach fails here, naming the file, the name and its length."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("api", "azora", "ledger", "chain", "monetization", "clients/python")
MODULE_MAX_LINES = 500
FUNCTION_MAX_LINES = 70
CLASS_MAX_LINES = 400


def production_modules() -> Iterator[Path]:
    for folder in PRODUCTION:
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" not in parts and not any(p.startswith(".") for p in parts):
                yield path


def too_long(path: Path) -> Iterator[str]:
    yield from breaches(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))


def breaches(source: str, name: str) -> Iterator[str]:
    lines = len(source.splitlines())
    if lines > MODULE_MAX_LINES:
        yield f"{name}: {lines} lines (at most {MODULE_MAX_LINES})"
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            limit = CLASS_MAX_LINES if isinstance(node, ast.ClassDef) else FUNCTION_MAX_LINES
            if length > limit:
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                yield f"{name}:{node.lineno}: {kind} {node.name} is {length} lines (max {limit})"


def test_production_code_is_found() -> None:
    found = {p.relative_to(ROOT).parts[0] for p in production_modules()}
    assert found == {"api", "azora", "ledger", "chain", "monetization", "clients"}


def test_no_module_function_or_class_is_too_long() -> None:
    assert [breach for path in production_modules() for breach in too_long(path)] == []


@pytest.mark.parametrize(
    ("source", "want"),
    [
        ("def f():\n" + "    x = 1\n" * 70, ["function f is 71 lines"]),
        ("def f():\n" + "    x = 1\n" * 69, []),
        ("class C:\n" + "    x = 1\n" * 400, ["class C is 401 lines"]),
        ("x = 1\n" * 501, ["501 lines"]),
        ("async def g():\n" + "    await x\n" * 70, ["function g is 71 lines"]),
    ],
)
def test_the_check_sees_a_breach(source: str, want: list[str]) -> None:
    got = list(breaches(source, "probe.py"))
    assert len(got) == len(want)
    for breach, fragment in zip(got, want, strict=True):
        assert fragment in breach
