"""PostgreSQL's relevance asks one score at a time (search.tier_query): for any words, the
score's ``tsquery`` holds exactly for the courses with every word and that many of them in
the title. The vector is the one tables.SEARCH_VECTOR_SQL describes (the words, and the
title's again behind the mark); a small evaluator reads the ``tsquery`` forms the search
writes. The integration property test checks the same on PostgreSQL itself."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from monetization.marketplace.search import _quoted, tier_query
from monetization.marketplace.tables import TITLE_MARK

WORDS = st.sampled_from(["python", "data", "ml", "web", "x41", "2024"])


def _holds(tsquery: str, vector: set[str]) -> bool:
    """Evaluate the operators the search writes: quoted lexemes, &, |, ! and parentheses."""
    python = re.sub(
        r"'((?:[^']|'')*)'", lambda m: repr(m.group(1).replace("''", "'")) + " in V", tsquery
    )
    python = python.replace("&", " and ").replace("|", " or ").replace("!", " not ")
    return bool(eval(python, {"V": vector}))


@given(
    found=st.lists(WORDS, min_size=1, max_size=4, unique=True),
    title=st.sets(WORDS),
    body=st.sets(WORDS),
)
def test_each_score_holds_for_exactly_its_courses(
    found: list[str], title: set[str], body: set[str]
) -> None:
    vector = title | body | {TITLE_MARK + w for w in title}
    lexemes = [_quoted(w) for w in found]
    holding = [s for s in range(len(found) + 1) if _holds(tier_query(found, s, lexemes), vector)]
    if set(found) <= title | body:
        assert holding == [len(set(found) & title)]
    else:
        assert holding == []


def test_quoting_keeps_any_text_one_lexeme() -> None:
    assert _quoted("it's") == "'it''s'"
    assert _quoted("a\\b") == "'a\\\\b'"
