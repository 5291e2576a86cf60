"""``/app/*`` and ``/problems/*`` over the real app: public, strict CSP on every answer,
hostile names a 404 problem (never a file outside ``web/``, never a 500)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from api.errors import STATUS_BY_CODE
from tests.conftest import PgDatabases
from tests.integration.api.conftest import make_client

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(pg_databases: PgDatabases) -> Iterator[TestClient]:
    """One app for the module: these routes read nothing that a test writes."""
    url = pg_databases.fresh()
    with make_client(url) as made:
        yield made
    pg_databases.drop(url)


PAGES = ["/app/", "/app/leaderboards", "/app/marketplace", "/app/plans", "/app/enterprise",
         "/app/audit"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_public_html_under_a_strict_policy(client: TestClient, path: str) -> None:
    got = client.get(path)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/html")
    policy = got.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert got.headers["x-content-type-options"] == "nosniff"
    assert 'type="module"' in got.text and "<script>" not in got.text


def test_app_without_slash_goes_to_the_wallet(client: TestClient) -> None:
    got = client.get("/app", follow_redirects=False)
    assert got.status_code == 308 and got.headers["location"] == "/app/"


def test_assets_are_served_with_their_types(client: TestClient) -> None:
    js = client.get("/app/assets/vendor/noble-hashes/sha3.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "keccak_256" in js.text
    css = client.get("/app/assets/style.css")
    assert css.headers["content-type"].startswith("text/css")


def test_the_config_names_the_public_rpc_url(client: TestClient) -> None:
    got = client.get("/app/config.json")
    assert got.status_code == 200
    rpc = got.json()["rpc_url"]
    assert got.json()["development"] is True  # the test settings are not production
    assert rpc.startswith("http")
    assert rpc.rstrip("/") in got.headers["content-security-policy"] or rpc in got.text


HOSTILE = ["../api/app.py", "..%2F..%2Fpyproject.toml", "%2e%2e/%2e%2e/README.md", "vendor/",
           "x%00.js", "/etc/passwd", "common.js%00", "style.css%2F.", "a" * 3000,
           "../pages/wallet.html", "vendor/noble-hashes/LICENSE"]  # fmt: skip


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_asset_name_is_a_404_problem(client: TestClient, name: str) -> None:
    got = client.get(f"/app/assets/{name}")
    assert got.status_code == 404, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert got.json()["type"].endswith("/not-found")


@pytest.mark.parametrize(
    "name", ["nope", "..", "wallet.html", "_shell.html", "%00", "audit%2F..%2F"]
)
def test_an_unknown_page_is_a_404_problem(client: TestClient, name: str) -> None:
    got = client.get(f"/app/{name}")
    assert got.status_code == 404
    assert got.headers["content-type"] == "application/problem+json"


def test_every_problem_type_has_its_page(client: TestClient) -> None:
    index = client.get("/problems")
    assert index.status_code == 200 and "content-security-policy" in index.headers
    assert "/app/assets/style.css" in index.text, "in the style of the pages"
    for code, status in STATUS_BY_CODE.items():
        assert f'href="/problems/{code}"' in index.text
        page = client.get(f"/problems/{code}")
        assert page.status_code == 200, code
        assert f"<code>status</code>: {status}</p>" in page.text
    missing = client.get("/problems/<script>")
    assert missing.status_code == 404 and "<script>" not in missing.text
