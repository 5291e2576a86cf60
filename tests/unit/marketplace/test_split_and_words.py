"""Pure rules of the marketplace: the split, the search words, the cursor."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monetization.marketplace.errors import InvalidCursor
from monetization.marketplace.search import Sort, decode_cursor, encode_cursor
from monetization.marketplace.split import round_half_even, split_price
from monetization.marketplace.text import words

PLANS = st.sampled_from(["free", "pro", "enterprise", "custom"])


@given(price=st.integers(0, 10**12), plan=PLANS)
def test_shares_sum_to_the_price_and_match_the_split_within_half_a_cent(
    price: int, plan: str
) -> None:
    split = split_price(price, plan)
    pct = 75 if plan == "enterprise" else 70
    assert split.instructor_share + split.platform_share == price
    assert split.instructor_share >= 0 and split.platform_share >= 0
    exact = Fraction(price * pct, 100)
    assert abs(split.instructor_share - exact) <= Fraction(1, 2)
    if abs(split.instructor_share - exact) == Fraction(1, 2):
        assert split.instructor_share % 2 == 0  # ties go to the even cent
    assert split.label == f"{pct}/{100 - pct}"


@given(n=st.integers(0, 10**15), d=st.integers(1, 10**6))
def test_round_half_even_matches_python_round(n: int, d: int) -> None:
    assert round_half_even(n, d) == round(Fraction(n, d))


@pytest.mark.parametrize(
    ("text", "expected_same_as"),
    [("Café", "CAFÉ"), ("straße", "STRASSE"), ("ﬁle", "file"), ("Python", "python")],
)
def test_words_fold_case_and_compatibility_forms(text: str, expected_same_as: str) -> None:
    assert words(text) == words(expected_same_as)


def test_words_are_ascii_letters_and_digits_only_and_injective() -> None:
    samples = ["日本語 x1 a_b ML-ops", "x636166c3a9 café", "xylo"]
    for sample in samples:
        assert all(w.isascii() and w.isalnum() and w == w.lower() for w in words(sample))
    assert words("café") != words("x636166c3a9")  # an ASCII word never looks encoded
    assert words("a_b") == ["a", "b"] and words("x" * 65) == []


def test_cursors_round_trip_and_forgeries_are_refused() -> None:
    cursor = encode_cursor(Sort.PRICE_ASC, [999, 42])
    assert decode_cursor(cursor, Sort.PRICE_ASC) == [999, 42]
    asc, newest = Sort.PRICE_ASC, Sort.NEWEST
    forged = [
        (cursor + "x", asc),
        ("%%%", asc),
        (encode_cursor(newest, [1, 2]), asc),
        ("", asc),
        ("A" * 300, asc),
        (encode_cursor(asc, [1]), asc),
        (encode_cursor(asc, [-1, 2]), asc),
        (encode_cursor(newest, [2**70, 1]), newest),
        (encode_cursor(newest, [4 * 10**17, 1]), newest),  # past year 9999
    ]
    for bad, sort in forged:
        with pytest.raises(InvalidCursor):
            decode_cursor(bad, sort)
