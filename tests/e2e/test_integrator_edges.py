"""Against a real `azora serve` (granian, its logging config): request ids in answers and
on log lines, the offline docs, the problem pages, a mistyped key's message."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import LiveServer, start_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def logged(e2e_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("logged") / "server.log"
    live = start_server(e2e_db, path, AZORA_ACCESS_LOG="true")
    yield live
    live.stop()


def _log_has(server: LiveServer, needle: str, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = server.log()
        if needle in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} not in the server log:\n{server.log()[-3000:]}")


def test_request_ids_are_echoed_in_problems_and_on_log_lines(logged: LiveServer) -> None:
    (key,) = logged.bootstrap_keys()
    auth = {"Authorization": f"Bearer {key}"}
    got = httpx.get(
        f"{logged.url}/v1/accounts/user:nobody:usd", headers={**auth, "X-Request-Id": "e2e-trace-1"}
    )
    assert got.status_code == 404 and got.headers["x-request-id"] == "e2e-trace-1"
    assert got.json()["request_id"] == "e2e-trace-1"
    log = _log_has(logged, "[request_id=e2e-trace-1] GET /v1/accounts/user:nobody:usd 404")
    made = httpx.get(f"{logged.url}/healthz", headers={"X-Request-Id": "has space"})
    made_id = made.headers["x-request-id"]
    assert made_id != "has space" and re.fullmatch(r"[0-9a-f]{32}", made_id)
    _log_has(logged, f"[request_id={made_id}] GET /healthz 200")
    # Every line has the field: outside a request it is "-".
    lines = [line for line in log.splitlines() if re.match(r"\d{4}-\d\d-\d\dT", line)]
    assert lines and all("[request_id=" in line for line in lines), lines[:5]


def test_docs_and_problem_pages_need_no_other_host(logged: LiveServer) -> None:
    docs = httpx.get(f"{logged.url}/docs")
    assert docs.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""", docs.text)
    flat = [u for pair in urls for u in pair if u]
    assert flat and all(u.startswith("/") for u in flat), flat
    for url in flat:
        assert httpx.get(f"{logged.url}{url}").status_code == 200, url
    page = httpx.get(f"{logged.url}/problems/insufficient-funds")
    assert page.status_code == 200 and "POST /v1/entries" in page.text


def test_a_mistyped_key_says_what_is_wrong(logged: LiveServer) -> None:
    got = httpx.get(f"{logged.url}/v1/accounts", headers={"Authorization": "Bearer azora_oops"})
    assert got.status_code == 401
    detail = got.json()["detail"]
    assert "Not enough segments" not in detail and "copied whole" in detail
