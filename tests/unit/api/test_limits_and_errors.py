"""Rate limiting, body limits and the problem mapping, with no database."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError

import ledger
from api.errors import STATUS_BY_CODE, ledger_code, ledger_problem
from api.limits import BodySizeLimit, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_burst_then_waits() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=2.0, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait_s = limiter.take("a")
    assert wait_s == pytest.approx(0.5)
    assert limiter.take("b") == 0.0  # buckets are per principal
    clock.now = 0.5
    assert limiter.take("a") == 0.0


def _ledger_error_classes() -> list[type[ledger.LedgerError]]:
    return [
        c
        for c in vars(ledger).values()
        if isinstance(c, type) and issubclass(c, ledger.LedgerError)
    ]


@pytest.mark.parametrize("cls", _ledger_error_classes(), ids=lambda c: c.__name__)
def test_every_ledger_error_has_a_status(cls: type[ledger.LedgerError]) -> None:
    error = cls("boom")
    code = ledger_code(error)
    assert code == cls.code, "each ledger code is mapped as such, not by a parent"
    body = ledger_problem(error)
    assert body["type"] == f"https://azora.dev/problems/{cls.code}"
    assert body["status"] == STATUS_BY_CODE[code]


def test_statuses_follow_design() -> None:
    assert STATUS_BY_CODE["insufficient-funds"] == 409
    assert STATUS_BY_CODE["idempotency-conflict"] == 409
    assert STATUS_BY_CODE["unknown-account"] == 422
    assert STATUS_BY_CODE["invalid-amount"] == 422
    assert STATUS_BY_CODE["not-found"] == 404


def _echo_app(max_bytes: int) -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, int]:
        return {"n": len(body)}

    app.add_middleware(BodySizeLimit, max_bytes=max_bytes)
    return app


def test_body_limit_by_content_length_and_by_stream() -> None:
    from fastapi.testclient import TestClient

    client = TestClient(_echo_app(1024))
    assert client.post("/echo", json={"a": "b"}).status_code == 200
    big = client.post("/echo", json={"a": "x" * 2000})
    assert big.status_code == 413
    assert big.headers["content-type"] == "application/problem+json"
    assert big.json()["type"].endswith("payload-too-large")

    def chunks() -> object:
        yield b'{"a": "'
        yield b"x" * 2000
        yield b'"}'

    streamed = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


class _DriverError(Exception):
    """Stands in for a driver exception; its text must never reach a client."""


def _failing_app(error: Exception) -> FastAPI:
    from api.errors import install_problem_handlers

    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/fail")
    def fail() -> None:
        raise error

    return app


DRIVER_TEXT = "connection to server at 10.0.0.7 port 5432 failed: password=hunter2"


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, _DriverError(DRIVER_TEXT)),
        InterfaceError("SELECT 1", {}, _DriverError(DRIVER_TEXT)),
        DBAPIError("SELECT 1", {}, _DriverError(DRIVER_TEXT), connection_invalidated=True),
    ],
    ids=["operational", "interface", "invalidated"],
)
def test_a_database_that_does_not_answer_is_503_and_retryable(error: Exception) -> None:
    from fastapi.testclient import TestClient

    answer = TestClient(_failing_app(error), raise_server_exceptions=False).get("/fail")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["type"].endswith("/unavailable")
    assert "hunter2" not in answer.text and "10.0.0.7" not in answer.text


def test_a_statement_the_database_refuses_stays_a_500_without_its_text() -> None:
    from fastapi.testclient import TestClient

    error = ProgrammingError("SELECT nope", {}, _DriverError(DRIVER_TEXT))
    answer = TestClient(_failing_app(error), raise_server_exceptions=False).get("/fail")
    assert answer.status_code == 500
    assert answer.json()["type"].endswith("/internal-error")
    assert "hunter2" not in answer.text and "nope" not in answer.text
