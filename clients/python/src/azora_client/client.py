"""A typed Python client for the Azora Ledger HTTP API, on httpx.

    with AzoraClient(os.environ["AZORA_URL"], token=os.environ["AZORA_KEY"]) as azora:
        azora.create_account("user:42:usd", "USD")
        entry = azora.post_entry("deposit", [Posting("world:card", "user:42:usd", "USD", "10")])

Every value-moving call gets one idempotency key per *logical* request (yours, or a fresh
UUID) and sends that same key on each retry, so a retry after a lost response can never
post twice. Transport errors, 5xx and 429 are retried with bounded, jittered backoff;
every other problem is raised at once as a typed :class:`AzoraError`.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

PROBLEM_BASE = "https://azora.dev/problems/"
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_RETRIES = 4
BACKOFF_BASE_S = 0.1
BACKOFF_MAX_S = 5.0
RETRY_AFTER_MAX_S = 30.0


# --- errors -----------------------------------------------------------------------------


class AzoraError(Exception):
    """A problem (RFC 9457) answered by the API; ``code`` is the last segment of its type."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        self.type = str(problem.get("type", ""))
        self.code = self.type.removeprefix(PROBLEM_BASE) if self.type else f"http-{status}"
        self.detail = str(problem.get("detail", ""))
        super().__init__(f"{status} {self.code}: {self.detail}")


class TransportFailure(AzoraError):
    """No answer after every retry (connection refused, timeouts...)."""


class BadRequest(AzoraError):
    pass


class Unauthorized(AzoraError):
    pass


class Forbidden(AzoraError):
    pass


class NotFound(AzoraError):
    pass


class Conflict(AzoraError):
    pass


class InsufficientFunds(Conflict):
    pass


class IdempotencyConflict(Conflict):
    pass


class AccountExists(Conflict):
    pass


class HoldNotPending(Conflict):
    pass


class LimitExceeded(Conflict):
    pass


class InvalidRequest(AzoraError):
    pass


class InvalidAmount(InvalidRequest):
    pass


class UnknownAccount(InvalidRequest):
    pass


class AssetMismatch(InvalidRequest):
    pass


class PayloadTooLarge(AzoraError):
    pass


class RateLimited(AzoraError):
    pass


class ServerError(AzoraError):
    pass


ERRORS_BY_CODE: dict[str, type[AzoraError]] = {
    "insufficient-funds": InsufficientFunds,
    "idempotency-conflict": IdempotencyConflict,
    "account-exists": AccountExists,
    "hold-not-pending": HoldNotPending,
    "limit-exceeded": LimitExceeded,
    "invalid-amount": InvalidAmount,
    "unknown-account": UnknownAccount,
    "asset-mismatch": AssetMismatch,
}
ERRORS_BY_STATUS: dict[int, type[AzoraError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidRequest,
    429: RateLimited,
}


def error_for(status: int, problem: Mapping[str, Any]) -> AzoraError:
    code = str(problem.get("type", "")).removeprefix(PROBLEM_BASE)
    cls = ERRORS_BY_CODE.get(code) or ERRORS_BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else AzoraError
    return cls(status, problem)


# --- values -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Posting:
    """Moves ``amount`` (a decimal string in whole units, e.g. ``"9.99"``) of ``asset``."""

    source: str
    destination: str
    asset: str
    amount: str

    def as_json(self) -> dict[str, str]:
        return {
            "source": self.source,
            "destination": self.destination,
            "asset": self.asset,
            "amount": self.amount,
        }


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    asset: str
    allow_negative: bool
    balance: str
    pending_out: str
    pending_in: str
    available: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Account:
        return cls(
            data["id"],
            data["asset"],
            data["allow_negative"],
            data["balance"],
            data["pending_out"],
            data["pending_in"],
            data["available"],
            data.get("metadata") or {},
        )


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    seq: int
    type: str
    status: str
    kind: str
    postings: tuple[Posting, ...]
    metadata: Mapping[str, Any]
    effective_at: datetime
    idempotency_key: str | None = None
    hold_id: str | None = None
    replayed: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, replayed: bool = False) -> Entry:
        return cls(
            id=data["id"],
            seq=data["seq"],
            type=data["type"],
            status=data["status"],
            kind=data["kind"],
            postings=tuple(Posting(**p) for p in data["postings"]),
            metadata=data.get("metadata") or {},
            effective_at=datetime.fromisoformat(data["effective_at"]),
            idempotency_key=data.get("idempotency_key"),
            hold_id=data.get("hold_id"),
            replayed=replayed,
        )


@dataclass(frozen=True, slots=True)
class HistoryLine:
    entry_id: str
    seq: int
    kind: str
    amount: str  # signed
    balance_after: str
    effective_at: datetime


@dataclass(frozen=True, slots=True)
class HistoryPage:
    data: tuple[HistoryLine, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: str
    status: str
    hold: Entry
    resolution: Entry | None


@dataclass(frozen=True, slots=True)
class NewEntry:
    """One entry of a batch; ``idempotency_key`` defaults to a fresh UUID."""

    kind: str
    postings: Sequence[Posting]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    pending: bool = False
    expires_at: datetime | None = None
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": self.kind,
            "postings": [p.as_json() for p in self.postings],
            "metadata": dict(self.metadata),
            "pending": self.pending,
        }
        if self.expires_at is not None:
            body["expires_at"] = self.expires_at.isoformat()
        return body


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One entry's outcome: ``entry`` on success, else ``error``."""

    index: int
    idempotency_key: str
    status: int
    entry: Entry | None
    error: AzoraError | None


# --- the client -------------------------------------------------------------------------


class AzoraClient:
    """Synchronous client; safe to share between threads (httpx.Client is)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.max_retries = max_retries
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AzoraClient:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    # accounts

    def create_account(
        self,
        account_id: str,
        asset: str,
        *,
        allow_negative: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> Account:
        """Open an account; an identical one that exists is returned as is."""
        body = {
            "id": account_id,
            "asset": asset,
            "allow_negative": allow_negative,
            "metadata": dict(metadata or {}),
        }
        return Account.from_json(self._call("POST", "/v1/accounts", json=body).json())

    def get_account(self, account_id: str) -> Account:
        return Account.from_json(self._call("GET", f"/v1/accounts/{account_id}").json())

    def history(
        self, account_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> HistoryPage:
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        data = self._call("GET", f"/v1/accounts/{account_id}/entries", params=params).json()
        return HistoryPage(
            tuple(
                HistoryLine(
                    d["entry_id"],
                    d["seq"],
                    d["kind"],
                    d["amount"],
                    d["balance_after"],
                    datetime.fromisoformat(d["effective_at"]),
                )
                for d in data["data"]
            ),
            data["next_cursor"],
        )

    def iter_history(self, account_id: str, *, page_size: int = 500) -> Iterator[HistoryLine]:
        """Every line of the account, newest first, page by page."""
        cursor: str | None = None
        while True:
            page = self.history(account_id, limit=page_size, cursor=cursor)
            yield from page.data
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # entries

    def post_entry(
        self,
        kind: str,
        postings: Sequence[Posting],
        *,
        metadata: Mapping[str, Any] | None = None,
        pending: bool = False,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Entry:
        """Record an entry (a hold with ``pending``). Retries reuse one idempotency key."""
        new = NewEntry(kind, postings, metadata or {}, pending, expires_at)
        key = idempotency_key or new.idempotency_key
        response = self._call(
            "POST", "/v1/entries", json=new.as_json(), headers={"Idempotency-Key": key}
        )
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        return Entry.from_json(response.json(), replayed=replayed)

    def post_entries(self, entries: Sequence[NewEntry]) -> list[BatchResult]:
        """Record up to 1,000 entries in one request; one result per entry, in order."""
        body = {"entries": [{**e.as_json(), "idempotency_key": e.idempotency_key} for e in entries]}
        results = self._call("POST", "/v1/entries/batch", json=body).json()["results"]
        return [
            BatchResult(
                r["index"],
                r["idempotency_key"],
                r["status"],
                Entry.from_json(r["entry"], replayed=r["replayed"]) if r["entry"] else None,
                error_for(r["status"], r["problem"]) if r["problem"] else None,
            )
            for r in results
        ]

    def get_entry(self, entry_id: str) -> Entry:
        return Entry.from_json(self._call("GET", f"/v1/entries/{entry_id}").json())

    def post_hold(self, hold_id: str) -> Hold:
        return self._hold(self._call("POST", f"/v1/entries/{hold_id}/post").json())

    def void_hold(self, hold_id: str) -> Hold:
        return self._hold(self._call("POST", f"/v1/entries/{hold_id}/void").json())

    @staticmethod
    def _hold(data: Mapping[str, Any]) -> Hold:
        resolution = data.get("resolution")
        return Hold(
            data["hold_id"],
            data["status"],
            Entry.from_json(data["hold"]),
            Entry.from_json(resolution) if resolution else None,
        )

    # transport

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send, retrying transport errors, 5xx and 429 (same request, same key)."""
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as error:
                if last:
                    raise TransportFailure(
                        0, {"type": PROBLEM_BASE + "transport", "detail": repr(error)}
                    ) from error
                self._sleep(self._backoff_s(attempt))
                continue
            if response.is_success:
                return response
            retryable = response.status_code >= 500 or response.status_code == 429
            if not retryable or last:
                raise error_for(response.status_code, _problem_of(response))
            self._sleep(self._wait_s(response, attempt))
        raise AssertionError("unreachable")

    def _backoff_s(self, attempt: int) -> float:
        ceiling: float = min(self.backoff_max_s, self.backoff_base_s * 2**attempt)
        return ceiling * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not crypto

    def _wait_s(self, response: httpx.Response, attempt: int) -> float:
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            return min(float(retry_after), RETRY_AFTER_MAX_S)
        return self._backoff_s(attempt)


def _problem_of(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data
    return {"type": "", "detail": response.text[:500]}
