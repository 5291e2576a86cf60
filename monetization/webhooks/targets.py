"""Where a webhook may point, checked at registration and again before every delivery.

A URL is ``http`` or ``https`` with a host name or address, no user name or password, no
fragment, at most :data:`URL_MAX_CHARS` printable ASCII characters (a host in another
script is given in its ``xn--`` form). In production (:attr:`TargetPolicy.strict`) only
``https``, and every address the host resolves to must be public: not loopback, private,
link-local (the cloud metadata service at 169.254.169.254), carrier-grade NAT, multicast,
reserved or unspecified, IPv4-mapped and NAT64 forms included. One non-public address
refuses the whole name, because a client may connect to any of them.

The check resolves the name; the delivery then connects to an address of that answer
(:class:`Target.addresses`), never resolving again, so a name that re-binds to an internal
address between the check and the connection (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import SplitResult, urlsplit

from monetization.webhooks.errors import WebhookUrlRefused

URL_MAX_CHARS = 2048
ADDRESSES_MAX = 16
DEFAULT_PORTS = {"http": 80, "https": 443}
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Resolver(Protocol):
    """The addresses ``host`` resolves to (empty: none); raises OSError when DNS fails."""

    def addresses(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    def addresses(self, host: str, port: int) -> list[str]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


class StaticResolver:
    """Answers from a table (tests, air-gapped set-ups); an address resolves to itself."""

    def __init__(self, table: Mapping[str, Sequence[str]] | None = None) -> None:
        self.table = {k: list(v) for k, v in (table or {}).items()}

    def set(self, host: str, *addresses: str) -> None:
        self.table[host] = list(addresses)

    def addresses(self, host: str, port: int) -> list[str]:
        if _literal(host) is not None:
            return [host]
        if host not in self.table:
            raise OSError(f"no such host {host!r}")
        return list(self.table[host])


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """``strict``: https only, public addresses only (production)."""

    strict: bool = True


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect (``addresses``) and what to ask for."""

    url: str
    scheme: str
    host: str  # as in the URL, brackets removed from an IPv6 literal
    port: int
    path: str  # path and query, at least "/"
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return shown if self.port == DEFAULT_PORTS[self.scheme] else f"{shown}:{self.port}"


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_public(address: IpAddress) -> bool:
    """A globally routable unicast address (the mapped IPv4 of an IPv4-mapped or NAT64 one)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address in NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None or address.teredo is not None:
            return False  # tunnels that embed another address: refuse outright
    return address.is_global and not address.is_multicast and not address.is_reserved


def parse_url(url: object) -> SplitResult:
    """The parts of a syntactically acceptable webhook URL; :class:`WebhookUrlRefused`."""
    if not isinstance(url, str) or not url:
        raise WebhookUrlRefused("url must be a non-empty string")
    if len(url) > URL_MAX_CHARS:
        raise WebhookUrlRefused(f"url must be at most {URL_MAX_CHARS} characters")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise WebhookUrlRefused("url must be printable ASCII without spaces (IDNA hosts: xn--)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise WebhookUrlRefused(f"url is malformed: {error}") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise WebhookUrlRefused("url must start with https:// (or http:// in development)")
    if not parts.hostname:
        raise WebhookUrlRefused("url must name a host")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused("url must not carry a user name or password")
    if parts.fragment or url.endswith("#"):
        raise WebhookUrlRefused("url must not have a #fragment")
    if port == 0:
        raise WebhookUrlRefused("url's port must be 1-65535")
    return parts


def check_url(url: object, policy: TargetPolicy) -> SplitResult:
    """What registration checks without DNS: the syntax, and https under a strict policy."""
    parts = parse_url(url)
    if policy.strict and parts.scheme != "https":
        raise WebhookUrlRefused("in production a webhook url must use https://")
    literal = _literal(parts.hostname or "")
    if policy.strict and literal is not None and not is_public(literal):
        raise WebhookUrlRefused(f"{literal} is not a public address")
    return parts


def resolve(url: str, policy: TargetPolicy, resolver: Resolver) -> Target:
    """The checked :class:`Target` of ``url``: resolved now, every address allowed."""
    parts = check_url(url, policy)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    try:
        found = resolver.addresses(host, port)[:ADDRESSES_MAX]
    except (OSError, UnicodeError) as error:
        raise WebhookUrlRefused(f"the host {host!r} does not resolve ({error})") from None
    addresses = [a for a in (_literal(a.split("%")[0]) for a in found) if a is not None]
    if not addresses:
        raise WebhookUrlRefused(f"the host {host!r} resolves to no address")
    if policy.strict:
        for address in addresses:
            if not is_public(address):
                raise WebhookUrlRefused(f"the host {host!r} resolves to {address}, not public")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(url, parts.scheme, host, port, path, tuple(str(a) for a in addresses))
