"""The access policy, decision by decision (no HTTP, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api import policy
from api.errors import ApiProblem
from api.security import Principal, PrincipalKind, Scope
from ledger import Entry, EntryType, Posting
from monetization.ids import USER_ID_RE

NOW = datetime(2026, 1, 1, tzinfo=UTC)
USER = Principal(PrincipalKind.USER, "42")
READER = Principal(PrincipalKind.KEY, "r", frozenset({Scope.LEDGER_READ}))
WRITER = Principal(PrincipalKind.KEY, "w", frozenset({Scope.ENTRIES_WRITE}))
ADMIN = Principal(PrincipalKind.KEY, "a", frozenset({Scope.ADMIN}))
user_ids = st.from_regex(USER_ID_RE, fullmatch=True)


def entry(*accounts: tuple[str, str], principal: str | None = "key:w") -> Entry:
    return Entry(
        id="e1",
        seq=1,
        type=EntryType.PENDING,
        kind="transfer",
        postings=tuple(Posting(s, d, "USD", 1) for s, d in accounts),
        metadata={},
        effective_at=NOW,
        recorded_at=NOW,
        principal=principal,
    )


def test_a_user_reads_only_its_own_accounts() -> None:
    assert policy.can_read_account(USER, "user:42:azr")
    for other in ("user:420:azr", "user:4:azr", "world:card", "user:42", "platform:x"):
        assert not policy.can_read_account(USER, other)
    with pytest.raises(ApiProblem) as hidden:
        policy.require_account(USER, "world:card")
    assert hidden.value.status == 404


@given(me=user_ids, other=user_ids)
def test_user_resources_are_the_users_own(me: str, other: str) -> None:
    principal = Principal(PrincipalKind.USER, me)
    assert policy.can_read_user(principal, me) and policy.can_act_for_user(principal, me)
    assert policy.can_read_user(principal, other) is (me == other)
    assert policy.can_act_for_user(principal, other) is (me == other)


def test_keys_read_with_a_read_scope_and_act_for_users_as_admins() -> None:
    assert policy.can_read_account(READER, "world:card")
    assert not policy.can_read_account(WRITER, "world:card")
    assert policy.can_read_user(READER, "7") and not policy.can_act_for_user(READER, "7")
    assert policy.can_act_for_user(ADMIN, "7") and policy.can_read_account(ADMIN, "x")


def test_an_entry_is_readable_through_any_of_its_accounts() -> None:
    mine = entry(("world:card", "user:42:usd"))
    assert policy.can_read_entry(USER, mine)
    assert not policy.can_read_entry(USER, entry(("world:card", "user:7:usd")))
    with pytest.raises(ApiProblem):
        policy.require_entry(USER, entry(("world:card", "user:7:usd")))


def test_domain_holds_are_resolved_only_by_their_domain() -> None:
    policy.require_resolvable_hold(entry(("a", "b"), principal="key:w"))
    policy.require_resolvable_hold(entry(("a", "b"), principal="user:42"))
    with pytest.raises(ApiProblem) as refused:
        policy.require_resolvable_hold(entry(("a", "b"), principal="rewards:redemptions"))
    assert refused.value.status == 409 and refused.value.code == "hold-owned-by-domain"


def test_boards() -> None:
    classes = {"42": {"py-101"}}

    def classes_of(user: str) -> set[str]:
        return classes.get(user, set())

    assert policy.can_read_board(USER, "global", None, classes_of)
    assert policy.can_read_board(USER, "friends", "42", classes_of)
    assert not policy.can_read_board(USER, "friends", "7", classes_of)
    assert policy.can_read_board(USER, "class", "py-101", classes_of)
    assert not policy.can_read_board(USER, "class", "go-101", classes_of)
    assert policy.can_read_board(READER, "class", "go-101", classes_of)
