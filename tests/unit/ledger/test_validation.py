"""Hostile values are refused by pure validation, before anything reaches the writer.

Each value here once reached the database inside someone's group commit (a NUL, a lone
surrogate, an instant past year 9999 in UTC, an id of the wrong shape). Validation must
refuse it as an :class:`InvalidRequest` of its own, and whatever it accepts must hash,
encode and convert to rows without an error.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.checks import (
    check_entry_id,
    check_instant,
    check_kind_pattern,
    check_principal,
    check_text,
    kind_matches,
)
from ledger.errors import (
    InvalidAccount,
    InvalidEntry,
    InvalidId,
    InvalidRequest,
    InvalidText,
    InvalidTime,
)
from ledger.model import (
    Account,
    Direction,
    Entry,
    EntryType,
    Limit,
    NewEntry,
    Posting,
    validate_account,
    validate_idempotency_key,
    validate_new_entry,
)
from ledger.store.rows import entry_row

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
MINUS_14 = timezone(timedelta(hours=-14))
PLUS_14 = timezone(timedelta(hours=14))
HOSTILE_TEXT = ["\x00", "a\x00b", "\ud800", "ok\udfff", "\ud83d"]


def entry(**changes: Any) -> NewEntry:
    base: dict[str, Any] = {
        "kind": "transfer",
        "postings": (Posting("user:1:usd", "user:2:usd", "USD", 100),),
    }
    base.update(changes)
    return NewEntry(**base)


@pytest.mark.parametrize("text", HOSTILE_TEXT)
@pytest.mark.parametrize(
    "build",
    [
        lambda t: entry(metadata={"note": t}),
        lambda t: entry(metadata={t: "value"}),
        lambda t: entry(metadata={"deep": [{"list": [t]}]}),
        lambda t: entry(identity={"event_id": t}),
    ],
    ids=["value", "key", "nested", "identity"],
)
def test_text_that_cannot_be_stored_is_invalid_text(text: str, build: Any) -> None:
    with pytest.raises(InvalidText):
        validate_new_entry(build(text), NOW)


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_account_metadata_and_principals_refuse_it_too(text: str) -> None:
    with pytest.raises(InvalidText):
        validate_account(Account("user:1:usd", "USD", metadata={"name": text}))
    with pytest.raises(InvalidText):
        check_principal(f"svc{text}")
    with pytest.raises(InvalidText):
        check_text(text, "a field")


@pytest.mark.parametrize(
    "account_id",
    ["user:1\x00:usd", "\x00", "User:1", "user:\ud800", "", "a" * 129, "-x", " user"],
)
def test_malformed_account_ids_are_invalid_accounts(account_id: str) -> None:
    with pytest.raises(InvalidAccount):
        validate_new_entry(entry(postings=(Posting(account_id, "user:2:usd", "USD", 1),)), NOW)
    with pytest.raises(InvalidAccount):
        validate_account(Account(account_id, "USD"))


@pytest.mark.parametrize("key", ["k\x00", "\ud800", "", "a" * 129, "key with space", "ключ"])
def test_malformed_idempotency_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidEntry):
        validate_idempotency_key(key)


@pytest.mark.parametrize("entry_id", ["\x00", "%00", "\ud800", "", "x" * 65, "../etc", "a b"])
def test_malformed_entry_and_hold_ids_are_invalid_ids(entry_id: str) -> None:
    with pytest.raises(InvalidId):
        check_entry_id(entry_id, "hold id")


@pytest.mark.parametrize("kind", ["transfer\x00", "Transfer", "a..b", "x" * 65, "\ud800"])
def test_malformed_kinds_are_refused(kind: str) -> None:
    with pytest.raises(InvalidEntry):
        validate_new_entry(entry(kind=kind), NOW)
    with pytest.raises(InvalidEntry):
        check_kind_pattern(kind + ".*")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=MINUS_14),  # year 10000 in UTC
        datetime(1, 1, 1, 0, 0, tzinfo=PLUS_14),  # year 0 in UTC
        datetime(2030, 1, 1),  # no timezone
    ],
    ids=["overflow", "underflow", "naive"],
)
def test_instants_outside_the_calendar_in_utc_are_invalid_times(moment: datetime) -> None:
    with pytest.raises(InvalidTime):
        validate_new_entry(entry(pending=True, expires_at=moment), NOW)
    with pytest.raises(InvalidTime):
        validate_new_entry(entry(effective_at=moment), NOW)
    with pytest.raises(InvalidTime):
        check_instant(moment, "a limit's until")
    limit = Limit("user:2:usd", "transfer", NOW, moment, 10)
    with pytest.raises(InvalidRequest):
        validate_new_entry(entry(limits=(limit,)), NOW)


def test_the_last_storable_instant_is_accepted() -> None:
    last = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    validate_new_entry(entry(pending=True, expires_at=last), NOW)


@pytest.mark.parametrize(
    "metadata",
    [{"n": 1.5}, {"n": float("nan")}, {"n": 2**256}, {"n": -(2**256)}, {1: "x"}, {"s": b"x"}],
)
def test_metadata_outside_canonical_json_is_invalid(metadata: dict[Any, Any]) -> None:
    with pytest.raises(InvalidEntry):
        validate_new_entry(entry(metadata=metadata), NOW)


def test_limits_and_flags_of_the_wrong_type_are_invalid() -> None:
    with pytest.raises(InvalidEntry):
        validate_new_entry(entry(pending="yes"), NOW)
    with pytest.raises(InvalidEntry):
        validate_new_entry(entry(limits=[Limit("user:2:usd", "transfer", NOW, NOW, 1)]), NOW)
    bad = Limit("user:2:usd", "transfer", NOW, NOW + timedelta(1), 1, "sideways")  # type: ignore[arg-type]
    with pytest.raises(InvalidEntry):
        validate_new_entry(entry(limits=(bad,)), NOW)
    assert Direction.IN.value == "in"


# Every code point, surrogates and NUL included, more often than by chance.
any_text = st.text(st.characters(exclude_categories=()) | st.sampled_from(["\x00", "\ud800"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | any_text | st.floats(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    metadata=st.dictionaries(any_text, json_values, max_size=4),
    kind=any_text | st.sampled_from(["transfer", "reward.earned"]),
    account=any_text | st.just("user:1:usd"),
    key=any_text | st.just("key-1"),
)
def test_validation_refuses_or_everything_after_it_works(
    metadata: dict[str, Any], kind: str, account: str, key: str
) -> None:
    request = entry(
        kind=kind, metadata=metadata, postings=(Posting(account, "user:2:usd", "USD", 1),)
    )
    try:
        validate_new_entry(request, NOW)
        validate_idempotency_key(key)
    except InvalidRequest:
        return
    stored = Entry(
        id="e1",
        seq=1,
        type=EntryType.POSTED,
        kind=request.kind,
        postings=request.postings,
        metadata=request.metadata,
        effective_at=NOW,
        recorded_at=NOW,
        idempotency_key=key,
        fingerprint=request.fingerprint(),
    )
    row = entry_row(stored)
    for value in row.values():
        if isinstance(value, str):
            assert "\x00" not in value
            value.encode("utf-8")
    stored.chained_hash(bytes(32))


def test_kind_patterns_match_below_a_prefix_only() -> None:
    assert kind_matches("reward.earned.quiz", ["reward.earned.*"])
    assert not kind_matches("reward.earned", ["reward.earned.*"])
    assert not kind_matches("reward.earned_x", ["reward.earned.*"])
    assert kind_matches("reward.earned", ["transfer", "reward.earned"])


def test_new_entry_ids_are_uuid4_text() -> None:
    import uuid

    from ledger.checks import is_entry_id
    from ledger.journal import new_entry_id

    ids = {new_entry_id() for _ in range(2000)}
    assert len(ids) == 2000
    for text in list(ids)[:200]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text and is_entry_id(text)
