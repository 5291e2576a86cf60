"""Webhook endpoints and their delivery log.

    from azora_client import AzoraClient, Webhooks

    with AzoraClient(url, token=key) as azora:
        hook = Webhooks(azora).create("https://hooks.example.com/azora", kinds=["reward.*"])
        store_secret(hook.secret)                       # shown once: verify deliveries with it

The key needs the ``events:read`` scope (it sees the webhooks it registered; an admin key,
every one); replaying a delivery needs an admin key. :meth:`Webhooks.create` is sent once,
never retried (a retry after a lost answer could register the endpoint twice).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from azora_client.client import PROBLEM_BASE, AzoraClient, TransportFailure, error_for


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    kinds: tuple[str, ...]
    description: str
    created_at: datetime
    scanned_seq: int
    failures: int
    next_attempt_at: datetime
    secret: str | None = None  # only in the answer to create()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Webhook:
        return cls(
            id=data["id"],
            url=data["url"],
            kinds=tuple(data["kinds"]),
            description=data["description"],
            created_at=datetime.fromisoformat(data["created_at"]),
            scanned_seq=data["scanned_seq"],
            failures=data["failures"],
            next_attempt_at=datetime.fromisoformat(data["next_attempt_at"]),
            secret=data.get("secret"),
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    webhook_id: str
    seq: int
    entry_id: str
    type: str
    kind: str
    status: str  # pending | delivered | failed
    attempts: int
    created_at: datetime
    retry_until: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    log: tuple[Attempt, ...] = ()  # only from delivery() and replay()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delivery:
        return cls(
            id=data["id"],
            webhook_id=data["webhook_id"],
            seq=data["seq"],
            entry_id=data["entry_id"],
            type=data["type"],
            kind=data["kind"],
            status=data["status"],
            attempts=data["attempts"],
            created_at=datetime.fromisoformat(data["created_at"]),
            retry_until=datetime.fromisoformat(data["retry_until"]),
            last_attempt_at=_instant(data.get("last_attempt_at")),
            last_status_code=data.get("last_status_code"),
            last_error=data.get("last_error"),
            delivered_at=_instant(data.get("delivered_at")),
            log=tuple(
                Attempt(
                    a["number"],
                    datetime.fromisoformat(a["at"]),
                    a.get("status_code"),
                    a.get("error"),
                    a["duration_ms"],
                )
                for a in data.get("log", ())
            ),
        )


@dataclass(frozen=True, slots=True)
class WebhookPage:
    data: tuple[Webhook, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    data: tuple[Delivery, ...]
    next_cursor: str | None


class Webhooks:
    """The webhooks of one :class:`AzoraClient` (its URL, key, retries)."""

    def __init__(self, client: AzoraClient) -> None:
        self._client = client

    def create(self, url: str, *, kinds: Sequence[str] = (), description: str = "") -> Webhook:
        """Register ``url`` for the events of ``kinds`` (``reward.*`` for a prefix; none:
        every kind) recorded from now on. The result's ``secret`` is shown only now."""
        body = {"url": url, "kinds": list(kinds), "description": description}
        try:
            response = self._client._http.post("/v1/webhooks", json=body)
        except httpx.TransportError as error:
            problem = {"type": PROBLEM_BASE + "transport", "detail": repr(error)}
            raise TransportFailure(0, problem) from error
        if not response.is_success:
            try:
                problem = response.json()
            except ValueError:
                problem = {"type": "", "detail": response.text[:500]}
            raise error_for(response.status_code, problem)
        return Webhook.from_json(response.json())

    def list(self, *, limit: int = 100, cursor: str | None = None) -> WebhookPage:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        data = self._client._call("GET", "/v1/webhooks", params=params).json()
        return WebhookPage(tuple(Webhook.from_json(w) for w in data["data"]), data["next_cursor"])

    def iter(self, *, page_size: int = 500) -> Iterator[Webhook]:
        cursor: str | None = None
        while True:
            page = self.list(limit=page_size, cursor=cursor)
            yield from page.data
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get(self, webhook_id: str) -> Webhook:
        return Webhook.from_json(self._client._call("GET", f"/v1/webhooks/{webhook_id}").json())

    def delete(self, webhook_id: str) -> None:
        """Stop deliveries to the endpoint (a repeat: NotFound)."""
        self._client._call("DELETE", f"/v1/webhooks/{webhook_id}")

    def deliveries(
        self,
        webhook_id: str,
        *,
        status: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> DeliveryPage:
        """The delivery log, newest event first."""
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            params["status"] = status
        if cursor is not None:
            params["cursor"] = cursor
        path = f"/v1/webhooks/{webhook_id}/deliveries"
        data = self._client._call("GET", path, params=params).json()
        return DeliveryPage(tuple(Delivery.from_json(d) for d in data["data"]), data["next_cursor"])

    def delivery(self, webhook_id: str, delivery_id: str) -> Delivery:
        """One delivery with the log of its attempts."""
        path = f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}"
        return Delivery.from_json(self._client._call("GET", path).json())

    def replay(self, webhook_id: str, delivery_id: str) -> Delivery:
        """Send one delivery again (admin key): pending now, before newer events."""
        path = f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"
        return Delivery.from_json(self._client._call("POST", path).json())
