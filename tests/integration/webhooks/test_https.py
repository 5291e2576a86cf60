"""Deliveries over TLS to the address the check resolved: the connection is pinned to that
address, and the certificate is still verified against the URL's host name."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monetization.webhooks import HttpSender, StaticResolver, TargetPolicy, resolve
from tests.integration.webhooks.receiver import PORTS

HOST = "hooks.test"


def self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp / f"{name}.pem", tmp / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class TlsReceiver:
    def __init__(self, cert: Path, key: Path) -> None:
        self.seen: list[tuple[str, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.seen.append((self.headers["Host"], body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        for port in reversed(PORTS):
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[TlsReceiver, Path]]:
    cert, key = self_signed(tmp_path, HOST)
    receiver = TlsReceiver(cert, key)
    yield receiver, cert
    receiver.close()


def test_https_goes_to_the_checked_address_with_the_host_name_verified(
    tls: tuple[TlsReceiver, Path],
) -> None:
    receiver, cert = tls
    trust = ssl.create_default_context(cafile=str(cert))
    sender = HttpSender(5, verify=trust)
    resolver = StaticResolver({HOST: ["127.0.0.1"]})  # no DNS knows hooks.test
    target = resolve(f"https://{HOST}:{receiver.port}/in", TargetPolicy(strict=False), resolver)
    sent = sender.send(target, json.dumps({"seq": 1}).encode(), {})
    assert sent.status_code == 204 and sent.acknowledged
    assert receiver.seen == [(f"{HOST}:{receiver.port}", b'{"seq": 1}')]
    sender.close()


def test_a_certificate_for_another_name_is_refused(tls: tuple[TlsReceiver, Path]) -> None:
    receiver, cert = tls
    sender = HttpSender(5, verify=ssl.create_default_context(cafile=str(cert)))
    resolver = StaticResolver({"other.test": ["127.0.0.1"]})
    target = resolve(f"https://other.test:{receiver.port}/", TargetPolicy(strict=False), resolver)
    sent = sender.send(target, b"{}", {})
    assert sent.status_code is None and "certificate" in (sent.error or "").lower()
    assert receiver.seen == []
    sender.close()
