"""The access policy of the change stream and webhooks (DESIGN §15)."""

from __future__ import annotations

import pytest

from api import policy
from api.errors import ApiProblem
from api.security import Principal, PrincipalKind, Scope

EVENTS = Principal(PrincipalKind.KEY, "e", frozenset({Scope.EVENTS_READ}))
ADMIN = Principal(PrincipalKind.KEY, "a", frozenset({Scope.ADMIN}))
USER = Principal(PrincipalKind.USER, "42")


def test_a_key_reaches_its_own_webhooks_and_an_admin_every_one() -> None:
    assert policy.webhook_owner(EVENTS) == "key:e"
    assert policy.webhook_owner(ADMIN) is None


def test_a_user_token_reaches_no_webhook() -> None:
    with pytest.raises(ApiProblem) as refused:
        policy.webhook_owner(USER)
    assert refused.value.status == 404


def test_the_events_scope_is_its_own() -> None:
    assert EVENTS.has(Scope.EVENTS_READ) and not EVENTS.has(Scope.LEDGER_READ)
    assert ADMIN.has(Scope.EVENTS_READ) and not USER.has(Scope.EVENTS_READ)
