"""Leaderboard scores in windows and buckets: the pure arithmetic (no I/O).

``leaderboard_buckets`` holds (period, period_start, bucket) -> how many ranked users
(score > 0) have a score in that bucket, where :func:`bucket_of` is a monotone map of a
score to its first :data:`BUCKET_DIGITS` significant digits and its length. A caller's rank
is then exact and cheap: 1 + the users of every bucket above theirs (a sum over at most a
few hundred rows) + the users inside their own bucket who rank before them (a narrow index
range). Counting every row above the caller instead costs O(rank).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from monetization.rewards.model import Window, window_start

# A bucket is a score's decimal length and its first BUCKET_DIGITS digits: 900 buckets per
# power of ten, each 0.1-1 % wide. Fewer digits: fewer bucket rows to sum, more users to
# count inside one. (Stored data depend on it: change it only with a rebuild.)
BUCKET_DIGITS = 3

Key = tuple[str, str, str]  # (period, period_start ISO date, user_id)
BucketKey = tuple[str, str, int]  # (period, period_start ISO date, bucket)


def bucket_of(score: int) -> int:
    """The bucket of a ranked score (> 0): monotone, ``a < b`` implies
    ``bucket_of(a) <= bucket_of(b)``; ``len(str(score)) * 10**D + first D digits`` (padded
    with zeros when the score is shorter than D digits)."""
    assert score > 0, score
    digits = str(score)
    lead = int(digits[:BUCKET_DIGITS].ljust(BUCKET_DIGITS, "0"))
    return len(digits) * _pow10(BUCKET_DIGITS) + lead


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """``[low, high)``: exactly the scores whose bucket is ``bucket``."""
    length, lead = divmod(bucket, _pow10(BUCKET_DIGITS))
    if length >= BUCKET_DIGITS:
        unit = _pow10(length - BUCKET_DIGITS)
        return lead * unit, (lead + 1) * unit
    prefix = lead // _pow10(BUCKET_DIGITS - length)  # a short score is its own bucket
    return prefix, prefix + 1


def _pow10(n: int) -> int:
    return int(10**n)


def windows_of(at: datetime) -> list[tuple[str, str]]:
    """The (period, period_start) of every window an instant counts in."""
    return [(w.value, window_start(w, at).isoformat()) for w in Window]


def expected_buckets(scores: dict[Key, int]) -> Counter[BucketKey]:
    """The reference bucket counts of a set of scores: ranked users per bucket."""
    return Counter((p, s, bucket_of(v)) for (p, s, _u), v in scores.items() if v > 0)


def pg_bucket_sql(score: str) -> str:
    """:func:`bucket_of` as a PostgreSQL expression over a NUMERIC(78,0) ``score`` > 0."""
    d = BUCKET_DIGITS
    return f"length({score}::text) * {_pow10(d)} + rpad(left({score}::text, {d}), {d}, '0')::int"
