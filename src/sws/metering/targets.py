"""Where alarm webhooks may go: never into the operator's own networks (SSRF).

A webhook URL is `http` or `https` to a host name or a public address. Refused, unless the
operator sets `webhook_allow_private`: loopback, link-local (cloud metadata at
169.254.169.254), private (RFC 1918, fc00::/7), shared (100.64/10), multicast, reserved and
unspecified addresses, and names like `localhost`. The networks in
`webhook_blocked_networks` (the operator's internal ones) are refused even then.

The URL is checked when an alarm is created, and again at each delivery after DNS: every
address the name resolves to must pass, and the connection goes to the address that passed
(a name that later resolves elsewhere cannot slip through).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import SplitResult, urlsplit

from sws.errors import Invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
SHARED = ipaddress.ip_network("100.64.0.0/10")


class TargetRefused(Exception):
    """This webhook target is not allowed; the reason is the message."""


class AddressResolver(Protocol):
    """Every address of a host name (the system's resolver, or a fake in tests)."""

    def addresses(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    def addresses(self, host: str, port: int) -> list[str]:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise TargetRefused(f"{host} does not resolve: {error}") from error
        return sorted({str(info[4][0]) for info in found})


@dataclass(frozen=True, slots=True)
class Target:
    """A URL that passed, and the address to connect to."""

    url: SplitResult
    host: str
    port: int
    address: str


@dataclass(frozen=True)
class WebhookTargets:
    allow_private: bool = False
    blocked: tuple[Network, ...] = ()
    resolver: AddressResolver = field(default_factory=SystemResolver)

    @classmethod
    def from_settings(
        cls, settings: Any, resolver: AddressResolver | None = None
    ) -> WebhookTargets:
        blocked = tuple(ipaddress.ip_network(n, strict=False)
                        for n in settings.webhook_blocked_networks)
        return cls(allow_private=settings.webhook_allow_private, blocked=blocked,
                   resolver=resolver or SystemResolver())

    def check_url(self, url: str, *, field: str = "url") -> None:
        """At creation: the URL's form, and its host if it is an address or a local name."""
        try:
            _, host, _ = _parse(url)
            literal = _literal(host)
            if literal is not None:
                self._check_address(literal, host)
            elif not self.allow_private and _local_name(host):
                raise TargetRefused(f"{host} is this machine")
        except TargetRefused as refused:
            raise Invalid(f"webhook target refused: {refused}", field=field) from None

    def resolve(self, url: str) -> Target:
        """At delivery: every address of the host must pass; raises `TargetRefused`."""
        parts, host, port = _parse(url)
        literal = _literal(host)
        found = [host] if literal is not None else self.resolver.addresses(host, port)
        if not found:
            raise TargetRefused(f"{host} has no address")
        if literal is None and not self.allow_private and _local_name(host):
            raise TargetRefused(f"{host} is this machine")
        for text in found:
            self._check_address(ipaddress.ip_address(text), host)
        return Target(url=parts, host=host, port=port, address=found[0])

    def _check_address(self, address: Address, host: str) -> None:
        mapped = getattr(address, "ipv4_mapped", None) or address
        if any(mapped in network for network in self.blocked):
            raise TargetRefused(f"{host} is in the operator's internal networks")
        if not self.allow_private and _private(mapped):
            raise TargetRefused(f"{host} is a loopback, link-local, private or reserved address")


def _parse(url: str) -> tuple[SplitResult, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("a webhook URL is http:// or https:// with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise TargetRefused(f"bad port: {error}") from error
    return parts, parts.hostname.lower().rstrip("."), port


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _local_name(host: str) -> bool:
    return host in LOCAL_NAMES or host.endswith(".localhost")


def _private(address: Address) -> bool:
    flags = (address.is_loopback, address.is_link_local, address.is_private,
             address.is_multicast, address.is_reserved, address.is_unspecified)
    return any(flags) or (address.version == 4 and address in SHARED)
