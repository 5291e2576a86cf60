"""Where a webhook may point (SSRF): every refusal has its reason, checked without a network."""

from __future__ import annotations

import pytest

from monetization.webhooks import (
    StaticResolver,
    TargetPolicy,
    WebhookUrlRefused,
    resolve,
)

STRICT = TargetPolicy(strict=True)
LAX = TargetPolicy(strict=False)
PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


def resolver(**table: list[str]) -> StaticResolver:
    return StaticResolver({k.replace("_", "."): v for k, v in table.items()})


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "2002:7f00:1::1",  # 6to4 of loopback
        "ff02::1",
    ],
)
def test_a_host_resolving_to_a_non_public_address_is_refused(address: str) -> None:
    with pytest.raises(WebhookUrlRefused, match="not public"):
        resolve("https://hooks.example.com/in", STRICT, resolver(hooks_example_com=[address]))


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.1.1", "[::1]", "[fe80::1]", "0.0.0.0"])
def test_a_literal_non_public_address_is_refused(address: str) -> None:
    with pytest.raises(WebhookUrlRefused, match=r"not (a )?public"):
        resolve(f"https://{address}/in", STRICT, StaticResolver())


def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    table = resolver(hooks_example_com=[PUBLIC_V4, PUBLIC_V6, "10.0.0.7"])
    with pytest.raises(WebhookUrlRefused, match=r"10\.0\.0\.7"):
        resolve("https://hooks.example.com/", STRICT, table)


def test_public_targets_keep_every_checked_address_and_the_host() -> None:
    table = resolver(hooks_example_com=[PUBLIC_V4, PUBLIC_V6])
    target = resolve("https://hooks.example.com:8443/a/b?x=1", STRICT, table)
    assert target.addresses == (PUBLIC_V4, PUBLIC_V6)
    assert (target.host, target.port, target.path) == ("hooks.example.com", 8443, "/a/b?x=1")
    assert target.host_header == "hooks.example.com:8443"
    assert resolve("https://hooks.example.com", STRICT, table).host_header == "hooks.example.com"


def test_production_wants_https() -> None:
    table = resolver(hooks_example_com=[PUBLIC_V4])
    with pytest.raises(WebhookUrlRefused, match="https"):
        resolve("http://hooks.example.com/", STRICT, table)
    assert resolve("http://hooks.example.com/", LAX, table).scheme == "http"


def test_development_allows_local_receivers() -> None:
    target = resolve("http://localhost:28100/hook", LAX, resolver(localhost=["127.0.0.1"]))
    assert target.addresses == ("127.0.0.1",)


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(WebhookUrlRefused, match="does not resolve"):
        resolve("https://nowhere.invalid/", STRICT, StaticResolver())
    with pytest.raises(WebhookUrlRefused, match="no address"):
        resolve("https://empty.example/", STRICT, resolver(empty_example=[]))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "non-empty"),
        ("ftp://hooks.example.com/", "https://"),
        ("javascript:alert(1)", "https://"),
        ("file:///etc/passwd", "https://"),
        ("https://", "host"),
        ("https:///path", "host"),
        ("https://user:pw@hooks.example.com/", "user name"),
        ("https://user@hooks.example.com/", "user name"),
        ("https://hooks.example.com/#frag", "fragment"),
        ("https://hooks.example.com:0/", "port"),
        ("https://hooks.example.com:99999/", "malformed"),
        ("https://hooks.example.com/\x00", "printable"),
        ("https://hooks.example.com/\ud800", "printable"),
        ("https://hooks.example.com/ a", "spaces"),
        ("https://héllo.example/", "ASCII"),
        ("https://hooks.example.com/\n", "printable"),
        ("https://hooks.example.com/" + "a" * 2100, "2048"),
        ("https://[::1/", "malformed"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    for policy in (STRICT, LAX):
        with pytest.raises(WebhookUrlRefused, match=reason):
            resolve(url, policy, resolver(hooks_example_com=[PUBLIC_V4]))


@pytest.mark.parametrize("value", [None, 42, b"https://x", ["https://x"]])
def test_a_url_that_is_not_a_string_is_refused(value: object) -> None:
    with pytest.raises(WebhookUrlRefused):
        resolve(value, STRICT, StaticResolver())  # type: ignore[arg-type]
