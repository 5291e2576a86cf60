"""Branding, custom domains (through the static resolver and a real DNS exchange with
dnspython against a local UDP name server) and SSO with the secret sealed at rest."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import dns.message
import dns.rcode
import dns.rrset
import pytest
from sqlalchemy import Engine, select

from ledger import InvalidRequest, NotFound
from monetization.licensing import (
    Branding,
    DnsTxtResolver,
    DnsUnavailable,
    DomainNotVerified,
    DomainTaken,
    Licensing,
    SsoRequest,
    StaticTxtResolver,
)
from monetization.licensing.tables import licensing_sso
from tests.integration.licensing.conftest import org_with_license

pytestmark = pytest.mark.integration
SECRET = "oidc-client-secret-value-123"


def test_branding_defaults_and_validation(licensing: Licensing) -> None:
    org_with_license(licensing)
    default = licensing.branding.get("acme")
    assert default.display_name == "Acme" and default.updated_at is None
    saved = licensing.branding.put(
        "acme", Branding("Acme Learning", "#0b5fff", "https://cdn.acme.com/logo.svg",
                         "#ff8800", "help@acme.com"),
    )  # fmt: skip
    assert (saved.primary_color, saved.accent_color) == ("#0B5FFF", "#FF8800")
    assert licensing.branding.get("acme") == saved
    for bad in (
        Branding("", "#000000"), Branding("A\x00", "#000000"), Branding("A", "blue"),
        Branding("A", "#000000", "http://acme.com/logo.png"),
        Branding("A", "#000000", support_email="not-an-email"),
    ):  # fmt: skip
        with pytest.raises(InvalidRequest):
            licensing.branding.put("acme", bad)
    assert licensing.branding.get("acme") == saved


def test_domain_ownership_by_txt_record(licensing: Licensing, resolver: StaticTxtResolver) -> None:
    org_with_license(licensing)
    org_with_license(licensing, org_id="globex")
    pending, created = licensing.domains.add("acme", "learn.acme.com")
    assert created and pending.status == "pending"
    assert pending.txt_name == "_azora-verification.learn.acme.com"
    assert licensing.domains.add("acme", "learn.acme.com") == (pending, False)
    with pytest.raises(DomainNotVerified):
        licensing.domains.verify("acme", "learn.acme.com")
    theirs, _ = licensing.domains.add("globex", "learn.acme.com")  # a claim, unproved
    assert theirs.txt_value != pending.txt_value
    resolver.set(pending.txt_name, "v=spf1 -all", pending.txt_value)
    assert licensing.domains.verify("acme", "learn.acme.com").status == "verified"
    resolver.set(pending.txt_name, theirs.txt_value)  # even publishing theirs later
    with pytest.raises(DomainTaken):
        licensing.domains.verify("globex", "learn.acme.com")
    org_with_license(licensing, org_id="initech")
    with pytest.raises(DomainTaken):
        licensing.domains.add("initech", "learn.acme.com")
    assert [d.domain for d in licensing.domains.of_org("acme")] == ["learn.acme.com"]
    with pytest.raises(NotFound):
        licensing.domains.verify("acme", "other.acme.com")


def test_sso_secrets_are_sealed_and_never_returned(licensing: Licensing, engine: Engine) -> None:
    org_with_license(licensing)
    with pytest.raises(NotFound):
        licensing.sso.get("acme")
    with pytest.raises(InvalidRequest):  # the first oidc settings need a secret
        licensing.sso.put("acme", SsoRequest("oidc", "https://id.acme.com", "azora"))
    saved = licensing.sso.put("acme", SsoRequest("oidc", "https://id.acme.com", "azora", SECRET))
    assert saved.client_secret_set and SECRET not in repr(saved)
    assert SECRET not in repr(SsoRequest("oidc", "https://id.acme.com", "azora", SECRET))
    with engine.connect() as conn:
        stored = conn.execute(select(licensing_sso.c.client_secret_sealed)).scalar_one()
    assert SECRET not in stored and stored.startswith("v1.")
    assert licensing.sso.client_secret("acme") == SECRET
    kept = licensing.sso.put("acme", SsoRequest("oidc", "https://login.acme.com", "azora"))
    assert kept.client_secret_set and licensing.sso.client_secret("acme") == SECRET
    saml = licensing.sso.put("acme", SsoRequest("saml", metadata_url="https://idp.acme.com/md"))
    assert not saml.client_secret_set and licensing.sso.client_secret("acme") is None
    for bad in (
        SsoRequest("ldap"),
        SsoRequest("oidc", "http://id.acme.com", "x", "s"),
        SsoRequest("saml", metadata_url="ftp://x"),
        SsoRequest("saml", "https://x"),
    ):
        with pytest.raises(InvalidRequest):
            licensing.sso.put("acme", bad)


class NameServer:
    """A name server on a local UDP port answering TXT questions from a table."""

    def __init__(self, records: dict[str, list[str]]) -> None:
        self.records = records
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            reply = dns.message.make_response(query)
            name = query.question[0].name.to_text().rstrip(".")
            values = self.records.get(name)
            if values is None:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            else:
                texts = [f'"{v}"' for v in values]
                reply.answer.append(dns.rrset.from_text(name + ".", 60, "IN", "TXT", *texts))
            self.sock.sendto(reply.to_wire(), peer)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def name_server() -> Iterator[NameServer]:
    server = NameServer({"_azora-verification.learn.acme.com": ["azora-domain-verification=t0k"]})
    yield server
    server.close()


def test_the_dnspython_resolver_over_a_real_exchange(name_server: NameServer) -> None:
    resolver = DnsTxtResolver(timeout_s=2, nameservers=["127.0.0.1"], port=name_server.port)
    assert resolver.txt("_azora-verification.learn.acme.com") == ["azora-domain-verification=t0k"]
    assert resolver.txt("_azora-verification.other.com") == []  # NXDOMAIN: no record
    silent = DnsTxtResolver(timeout_s=0.3, nameservers=["127.0.0.1"], port=_free_port())
    with pytest.raises(DnsUnavailable):
        silent.txt("_azora-verification.learn.acme.com")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
