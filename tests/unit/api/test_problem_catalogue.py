"""Every problem type has a title, advice and a current line in docs/problems.md."""

from __future__ import annotations

from pathlib import Path

from api.errors import STATUS_BY_CODE, TITLES
from api.problem_help import ADVICE_BY_STATUS, HELP, catalogue_markdown

ROOT = Path(__file__).resolve().parents[3]


def test_every_code_has_a_title_and_advice() -> None:
    assert set(TITLES) == set(STATUS_BY_CODE)
    assert set(HELP) <= set(STATUS_BY_CODE)
    assert {s for s in STATUS_BY_CODE.values()} <= set(ADVICE_BY_STATUS)


def test_docs_problems_md_is_current() -> None:
    written = (ROOT / "docs" / "problems.md").read_text()
    assert written == catalogue_markdown(), (
        "docs/problems.md is stale: .venv/bin/python -m api.problem_help > docs/problems.md"
    )
    for code in STATUS_BY_CODE:
        assert f"| `{code}` |" in written
