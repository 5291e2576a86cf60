"""The DNS TXT look-up behind domain verification: a port and its two adapters.

:class:`DnsTxtResolver` asks the system's resolvers through ``dnspython`` (bounded by a
timeout); :class:`StaticTxtResolver` answers from a table (tests, air-gapped set-ups).
A name with no TXT record is an empty list; a resolver that cannot answer raises
:class:`~monetization.licensing.errors.DnsUnavailable`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from monetization.licensing.errors import DnsUnavailable

TXT_MAX_RECORDS = 50


class TxtResolver(Protocol):
    def txt(self, name: str) -> list[str]: ...


class StaticTxtResolver:
    def __init__(self, records: Mapping[str, Sequence[str]] | None = None) -> None:
        self.records: dict[str, list[str]] = {k: list(v) for k, v in (records or {}).items()}

    def set(self, name: str, *values: str) -> None:
        self.records[name] = list(values)

    def txt(self, name: str) -> list[str]:
        return list(self.records.get(name, ()))[:TXT_MAX_RECORDS]


class DnsTxtResolver:
    """``nameservers`` (with ``port``) replaces the system's resolvers when given."""

    def __init__(
        self, timeout_s: float = 3.0, nameservers: Sequence[str] = (), port: int = 53
    ) -> None:
        import dns.resolver

        self.timeout_s = timeout_s
        self._resolver: dns.resolver.Resolver | None = None
        try:
            self._resolver = dns.resolver.Resolver(configure=not nameservers)
        except dns.resolver.NoResolverConfiguration:
            return  # no /etc/resolv.conf: every look-up says DNS is unavailable
        if nameservers:
            self._resolver.nameservers = list(nameservers)
            self._resolver.port = port

    def txt(self, name: str) -> list[str]:
        import dns.exception
        import dns.resolver

        if self._resolver is None:
            raise DnsUnavailable("no DNS resolver is configured on this host")
        try:
            answer = self._resolver.resolve(name, "TXT", lifetime=self.timeout_s)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as error:
            reason = type(error).__name__
            raise DnsUnavailable(f"DNS did not answer for {name} ({reason})") from None
        values = []
        for record in list(answer)[:TXT_MAX_RECORDS]:
            strings = getattr(record, "strings", ())
            values.append(b"".join(strings).decode("utf-8", "replace"))
        return values
