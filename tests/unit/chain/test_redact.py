"""RPC URLs carry provider keys: every message of chain/ shows scheme, host and port only."""

from __future__ import annotations

import logging
import traceback

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain import AzoraToken, ChainUnavailable, TxSettings, connect
from chain.localnode import free_port
from chain.redact import redact_text, redact_url, remember_url
from chain.retry import RetryPolicy


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("http://127.0.0.1:8545/", "http://127.0.0.1:8545"),
        ("https://mainnet.infura.io/v3/0123456789abcdef", "https://mainnet.infura.io/***"),
        ("https://eth.example/rpc?apikey=s3cr3t", "https://eth.example/***"),
        ("https://user:pw@node.example:8443/x", "https://***@node.example:8443/***"),
        ("https://node.example/#frag", "https://node.example/***"),
        ("http://[::1]:8545/key", "http://[::1]:8545/***"),
        ("not a url", "***"),
        ("http://host:99999999/", "***"),
    ],
)
def test_redact_url_keeps_scheme_host_and_port_only(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,20}\.[a-z]{2,6}", fullmatch=True),
    secret=st.from_regex(r"K[A-Z0-9_]{8,40}", fullmatch=True),  # never inside the host
    where=st.sampled_from(["path", "query", "user", "password"]),
)
def test_no_secret_survives_redaction(host: str, secret: str, where: str) -> None:
    url = {
        "path": f"https://{host}/v3/{secret}",
        "query": f"https://{host}/?key={secret}",
        "user": f"https://{secret}@{host}/",
        "password": f"https://me:{secret}@{host}/",
    }[where]
    assert secret not in redact_url(url)
    remember_url(url)
    message = f"failed {url} (path /v3/{secret}, key={secret})"
    assert secret not in redact_text(message)


def test_a_failing_call_names_no_path_in_its_error_or_log(caplog: pytest.LogCaptureFixture) -> None:
    secret = "pr0v1derKEYabcdef"
    url = f"http://127.0.0.1:{free_port()}/v3/{secret}?apikey=Q{secret}"
    settings = TxSettings(retry=RetryPolicy(attempts=2, initial_delay_s=0.0, max_delay_s=0.0))
    token = AzoraToken(connect(url), "0x" + "12" * 20, settings=settings)
    with caplog.at_level(logging.DEBUG), pytest.raises(ChainUnavailable) as failed:
        token.anchor_count()
    shown = "".join(traceback.format_exception(failed.value)) + caplog.text
    assert "127.0.0.1" in str(failed.value) or "unreachable" in str(failed.value)
    assert secret not in shown and "/v3/" not in shown, shown
    assert secret not in repr(token.w3.provider)


def test_an_unsupported_url_is_not_echoed() -> None:
    with pytest.raises(ValueError) as refused:
        connect("ws://node.example/v3/abcdefgh12345678")
    assert "abcdefgh12345678" not in str(refused.value)
