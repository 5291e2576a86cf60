"""The pages' static files: the vendored @noble/hashes is the pinned npm build, byte for
byte; no page loads anything from another host or runs inline code (the CSP forbids it);
the public RPC URL enters the policy only as a clean origin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.routers.app_pages import ASSETS, PAGES, render_page, rpc_origin, security_headers
from web import ASSETS_DIR

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ASSETS_DIR / "vendor" / "noble-hashes"


@pytest.mark.parametrize("name", ["sha3.js", "_u64.js", "utils.js", "LICENSE"])
def test_vendored_noble_hashes_is_the_pinned_npm_build(name: str) -> None:
    built = ROOT / "node_modules" / "@noble" / "hashes" / name
    if not built.exists():
        pytest.skip("node_modules is not installed (make deps installs it)")
    assert (VENDORED / name).read_bytes() == built.read_bytes(), f"run `make vendor` ({name})"


def test_every_page_exists_and_loads_only_same_origin_files() -> None:
    for name, filename in PAGES.items():
        text = render_page(name)
        assert "<!--" not in text and text.count("<main") == 1, f"{filename}: shell markers left"
        assert re.findall(r"<script(?![^>]*\bsrc=\"/app/assets/)", text) == [], filename
        for url in re.findall(r'(?:src|href)="([^"]+)"', text):
            assert url.startswith(("/", "#", "data:")), f"{filename} names {url}"
        assert not re.search(r"\son[a-z]+=", text), f"{filename} has an inline handler"
        for asset in re.findall(r'/app/assets/([^"]+)"', text):
            assert asset in ASSETS, f"{filename} names a missing asset {asset}"


def test_scripts_import_only_files_that_are_served() -> None:
    for path in ASSETS_DIR.rglob("*.js"):
        for target in re.findall(r'^import .* from "(\.[^"]+)";', path.read_text(), re.M):
            resolved = (path.parent / target).resolve().relative_to(ASSETS_DIR).as_posix()
            assert resolved in ASSETS, f"{path.name} imports {target}"
        assert "innerHTML" not in path.read_text() or "vendor" in path.parts, path


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("https://rpc.example.org/v1/key", "https://rpc.example.org"),
        ("http://127.0.0.1:8545 'unsafe-inline'", None),
        ("http://a;script-src *", None),
        ("javascript:alert(1)", None),
        ("ws://127.0.0.1:8546", None),
        ("http://127.0.0.1:99999", None),
        ("", None),
        ("http://", None),
    ],
)
def test_only_a_clean_http_origin_enters_the_policy(url: str, origin: str | None) -> None:
    assert rpc_origin(url) == origin
    policy = security_headers(url)["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    assert policy.count(";") == 7
