"""The pages in a real browser: Debian's chromium driven by Playwright (no browser download),
against ``azora serve`` with anchoring on a real anvil, over a fresh PostgreSQL database.

Every page's requests are recorded and must stay on 127.0.0.1; each test leaves a
screenshot under ``test-artifacts/pages/``. Without chromium the tests fail with the command
that installs it; ``AZORA_SKIP_BROWSER=1`` skips them instead.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from chain.localnode import LocalNode, start_anvil
from tests.e2e.conftest import ROOT, LiveServer, start_server

ARTIFACTS = Path(os.environ.get("AZORA_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "pages"
PROOF_WAIT_S = 90.0
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")


def chromium() -> str:
    if os.environ.get("AZORA_SKIP_BROWSER") == "1":
        pytest.skip("AZORA_SKIP_BROWSER=1: the browser tests are skipped")
    candidates = [os.environ.get("AZORA_CHROMIUM"), shutil.which("chromium"), *CHROMIUM_PATHS]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    pytest.fail(
        "the browser tests need Chromium: `apt-get install -y chromium` (make test installs "
        "it), AZORA_CHROMIUM=/path/to/chromium, or AZORA_SKIP_BROWSER=1 to skip them",
        pytrace=False,
    )


@dataclass
class Site:
    """The live server, an admin client on it, and what the tests seeded."""

    server: LiveServer
    node: LocalNode
    admin: httpx.Client
    tokens: dict[str, str] = field(default_factory=dict)
    course_id: str = ""

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, user_id: str) -> str:
        if user_id not in self.tokens:
            made = self.admin.post("/v1/admin/tokens", json={"user_id": user_id})
            assert made.status_code == 201, made.text
            self.tokens[user_id] = made.json()["token"]
        return self.tokens[user_id]

    def as_user(self, user_id: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(user_id)}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": key} if key else {}
        made = self.admin.post(path, json=body, headers=headers)
        assert made.status_code in (200, 201), f"{path}: {made.text}"
        answer: dict[str, Any] = made.json()
        return answer

    def wait_for_proof(self, user_id: str, entry_id: str) -> dict[str, Any]:
        """The entry's inclusion proof, once an anchor covering it is confirmed."""
        deadline = time.monotonic() + PROOF_WAIT_S
        with self.as_user(user_id) as client:
            while time.monotonic() < deadline:
                got = client.get(f"/v1/proofs/entries/{entry_id}")
                if got.status_code == 200:
                    proof: dict[str, Any] = got.json()
                    return proof
                assert got.status_code == 409, got.text
                time.sleep(0.3)
        raise AssertionError(f"entry {entry_id} was never anchored")


def _seed(site: Site) -> None:
    site.admin.put("/v1/rewards/rules/lesson.completed", json={"amount": "25"}).raise_for_status()
    site.post("/v1/rewards/catalog", {"id": "tee", "name": "T-shirt", "type": "merchandise",
                                       "price": "30", "stock": 10})  # fmt: skip
    site.post("/v1/rewards/catalog", {"id": "withdraw-10", "name": "Withdraw 10 AZR",
                                       "type": "onchain_withdrawal", "price": "10"})  # fmt: skip
    for user, lessons in (("ada", 3), ("ben", 1), ("cy", 2)):
        for n in range(lessons):
            event = {"event_id": f"{user}-{n}", "user_id": user, "type": "lesson.completed"}
            site.post("/v1/rewards/events", event)
    site.post("/v1/users/ivy/subscription", {"plan": "pro", "payment_method": "pm_card_visa"},
              key="ivy-pro")  # fmt: skip
    course = site.post("/v1/courses", {
        "title": "Python from zero", "description": "Build a ledger in Python.",
        "category": "programming", "level": "beginner", "language": "en", "price": "49.99",
        "tags": ["python"], "instructor_id": "ivy"})  # fmt: skip
    site.course_id = course["id"]
    site.post(f"/v1/courses/{course['id']}/publish", {})
    site.post("/v1/orgs", {"id": "acme", "name": "Acme Academy", "owner_user_id": "ada"})
    site.post("/v1/orgs/acme/licenses", {
        "tier": "professional", "seats": 5, "expires_at": "2099-01-01T00:00:00Z",
        "limits": {"api_calls_per_month": 1000, "storage_bytes": 10**9, "active_users": 5},
        "payment_method": "pm_card_visa"}, key="acme-license")  # fmt: skip
    site.post("/v1/orgs/acme/usage", {"event_id": "u-1", "metric": "api_calls", "quantity": 640})
    branding = {"display_name": "Acme Learning", "primary_color": "#0B5FFF"}
    site.admin.put("/v1/orgs/acme/branding", json=branding).raise_for_status()


@pytest.fixture(scope="module")
def node() -> Iterator[LocalNode]:
    started = start_anvil()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def site(e2e_db: str, node: LocalNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    chromium()  # fail (or skip) before starting anything
    live = start_server(
        e2e_db,
        tmp_path_factory.mktemp("server") / "server.log",
        AZORA_ANCHORING="on",
        AZORA_CHAIN_RPC_URL=node.rpc_url,
        AZORA_PUBLIC_RPC_URL=node.rpc_url,
        AZORA_ANCHOR_INTERVAL_S="1",
        AZORA_DATA_DIR=str(tmp_path_factory.mktemp("data")),
    )
    (key,) = live.bootstrap_keys()
    admin = httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    made = Site(live, node, admin)
    _seed(made)
    yield made
    admin.close()
    live.stop()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@dataclass
class Tab:
    """A browser page with every request it made."""

    page: Any
    requests: list[str]
    site: Site

    def open(self, path: str, user: str | None = None) -> Any:
        fragment = f"#token={self.site.token(user)}" if user else ""
        self.page.goto(f"{self.site.url}{path}{fragment}")
        return self.page


@pytest.fixture
def tab(browser: Any, site: Site, request: pytest.FixtureRequest) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    made = Tab(page, requests, site)
    yield made
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    elsewhere = [
        u for u in requests if urlsplit(u).scheme != "data" and urlsplit(u).hostname != "127.0.0.1"
    ]
    assert elsewhere == [], f"the page reached another host: {elsewhere}"
