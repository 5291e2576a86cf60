"""Webhook signing secrets at rest: sealed, re-sealed after a key rotation or when found in
plain text from before sealing, and never sent under a key that does not open them."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, update

from ledger import Ledger
from monetization.sealing import Sealer, SealError
from monetization.webhooks import Webhooks, verify
from monetization.webhooks.tables import webhooks_endpoints as ep
from tests.integration.billing.conftest import Clock
from tests.integration.webhooks.conftest import SEALING_KEYS, make_webhooks, post
from tests.integration.webhooks.receiver import Receiver

NEW_KEY = "webhook-sealing-rotated-key-" + "n" * 20


def stored(engine: Engine, endpoint_id: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(ep.c.secret).where(ep.c.id == endpoint_id)).scalar_one())


def store(engine: Engine, endpoint_id: str, value: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(ep).where(ep.c.id == endpoint_id).values(secret=value))


def delivered_with(
    webhooks: Webhooks, book: Ledger, receiver: Receiver, secret: str, clock: Clock
) -> int:
    """Post one event, deliver it, and check the newest delivery verifies under ``secret``."""
    post(book, "purchase.completed", 100)
    webhooks.deliver()
    got = receiver.at("/hook")[-1]
    return verify(secret, got.body, got.headers["Azora-Signature"], clock().timestamp())


def test_the_secret_is_stored_sealed_and_deliveries_sign_with_it(
    webhooks: Webhooks, engine: Engine, book: Ledger, receiver: Receiver, clock: Clock
) -> None:
    endpoint, secret = webhooks.endpoints.create("key:a", receiver.url())
    at_rest = stored(engine, endpoint.id)
    assert secret not in at_rest and at_rest.startswith("v1.")
    assert Sealer(SEALING_KEYS).open(at_rest, endpoint.id) == secret
    with pytest.raises(SealError):  # bound to its endpoint: another row's cannot be used
        Sealer(SEALING_KEYS).open(at_rest, "another-endpoint")
    assert delivered_with(webhooks, book, receiver, secret, clock) > 0


def test_a_secret_kept_in_plain_text_still_signs_and_is_sealed_when_used(
    webhooks: Webhooks, engine: Engine, book: Ledger, receiver: Receiver, clock: Clock
) -> None:
    endpoint, secret = webhooks.endpoints.create("key:a", receiver.url())
    store(engine, endpoint.id, secret)  # as rows were written before secrets were sealed
    assert delivered_with(webhooks, book, receiver, secret, clock) > 0
    at_rest = stored(engine, endpoint.id)
    assert secret not in at_rest
    assert Sealer(SEALING_KEYS).open(at_rest, endpoint.id) == secret


def test_after_a_key_rotation_old_secrets_open_and_are_sealed_under_the_new_key(
    engine: Engine, book: Ledger, receiver: Receiver, clock: Clock
) -> None:
    before = make_webhooks(engine, book, clock)
    endpoint, secret = before.endpoints.create("key:a", receiver.url())
    old = stored(engine, endpoint.id)
    rotated = make_webhooks(engine, book, clock, secrets=lambda: [NEW_KEY, *SEALING_KEYS])
    assert delivered_with(rotated, book, receiver, secret, clock) > 0
    now = stored(engine, endpoint.id)
    assert now != old and Sealer([NEW_KEY]).open(now, endpoint.id) == secret
    assert Sealer([NEW_KEY]).is_current(now) and not Sealer([NEW_KEY]).is_current(old)


def test_a_secret_no_configured_key_opens_is_not_used_and_others_go_on(
    engine: Engine, book: Ledger, receiver: Receiver, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    old = make_webhooks(engine, book, clock)
    endpoint, _ = old.endpoints.create("key:a", receiver.url("/old"))
    kept = stored(engine, endpoint.id)
    now_keys = make_webhooks(engine, book, clock, secrets=lambda: [NEW_KEY])
    _, secret = now_keys.endpoints.create("key:a", receiver.url())
    [seq] = post(book, "purchase.completed", 100)
    report = now_keys.deliver()
    assert report.endpoints == 2 and report.delivered == 1  # one round: no retry storm
    [got] = receiver.at("/hook")
    assert verify(secret, got.body, got.headers["Azora-Signature"], clock().timestamp()) > 0
    assert receiver.at("/old") == [] and stored(engine, endpoint.id) == kept
    assert f"webhook {endpoint.id}" in caplog.text and "AZORA_SSO_ENCRYPTION_KEY" in caplog.text
    assert now_keys.deliver().endpoints == 0  # it waits, not claimed again at once
    [pending], _ = old.log.list(endpoint.id)
    assert pending.seq == seq and pending.status.value == "pending"
