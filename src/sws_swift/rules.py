"""Storage-firewall rules: the validated value, its container-sysmeta encoding, and the compiler.

This module is the one rule format that both sides share:

- SWS's management side (`sws.storagefw`) validates what a tenant submits and turns it into
  sysmeta headers with `to_sysmeta_headers`;
- the Swift proxy middleware (`sws_swift.middleware`) reads those headers back from the cached
  container info with `from_sysmeta` and compiles them with `compile_rules` into sorted integer
  ranges, so that a request costs one `bisect` per list instead of `ipaddress` objects.

It imports only the standard library, so it loads both in SWS and in a Swift proxy's Python.

Sysmeta format (version 1), one header per field, all optional except the version::

    X-Container-Sysmeta-Sws-Fw-Version:   1
    X-Container-Sysmeta-Sws-Fw-Allow:     10.0.0.0/8,2001:db8::/32
    X-Container-Sysmeta-Sws-Fw-Exclusive: true
    X-Container-Sysmeta-Sws-Fw-Deny:      192.0.2.0/24
    X-Container-Sysmeta-Sws-Fw-Limits:    requests/300=5000,requests/86400=500000,mb/300=100

Writing the same headers with empty values removes the firewall (Swift deletes empty sysmeta).
"""

from __future__ import annotations

import ipaddress
import math
import socket
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

FORMAT_VERSION = "1"
MAX_ENTRIES = 100
WINDOWS: dict[int, str] = {300: "5 minutes", 86400: "24 hours"}
KINDS = ("requests", "mb")
BYTES_PER_MB = 1_000_000
SYSMETA_PREFIX = "X-Container-Sysmeta-"
FIELDS = ("sws-fw-version", "sws-fw-allow", "sws-fw-exclusive", "sws-fw-deny", "sws-fw-limits")

Kind = Literal["requests", "mb"]


class RuleError(ValueError):
    """A rule that cannot be accepted; `field` names the offending field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Limit:
    """At most `amount` requests (or MB, 10^6 bytes) per source IP per fixed `window` seconds."""

    kind: Kind
    window: int
    amount: int

    def __post_init__(self) -> None:
        name = f"limits.{self.kind}/{self.window}"
        if self.kind not in KINDS:
            raise RuleError(name, f"kind must be one of {', '.join(KINDS)}")
        if self.window not in WINDOWS:
            raise RuleError(name, "window must be 300 (5 minutes) or 86400 (24 hours) seconds")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise RuleError(name, "limit must be a positive integer")

    def describe(self) -> str:
        unit = "requests" if self.kind == "requests" else "MB"
        return f"{self.kind} limit {self.amount} {unit} per {WINDOWS[self.window]}"

    def encode(self) -> str:
        return f"{self.kind}/{self.window}={self.amount}"


@dataclass(frozen=True)
class FirewallRules:
    """One container's firewall: normalised CIDR lists, the exclusive flag and the limits."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    exclusive: bool = False
    limits: tuple[Limit, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow", normalise_cidrs("allow", self.allow))
        object.__setattr__(self, "deny", normalise_cidrs("deny", self.deny))
        _check_unique_limits(self.limits)
        if self.exclusive and not self.allow:
            raise RuleError("exclusive", "an exclusive whitelist needs at least one entry")

    @property
    def empty(self) -> bool:
        return not (self.allow or self.deny or self.exclusive or self.limits)


def normalise_cidrs(name: str, entries: Iterable[str]) -> tuple[str, ...]:
    """Validate and normalise a list of IPs/CIDRs (host bits are cleared); drop duplicates."""
    if isinstance(entries, str):
        raise RuleError(name, "must be a list of CIDRs, not a string")
    seen: dict[str, None] = {}
    for index, entry in enumerate(entries):
        try:
            seen[str(ipaddress.ip_network(str(entry).strip(), strict=False))] = None
        except ValueError:
            raise RuleError(f"{name}[{index}]", f"{entry!r} is not an IP address or CIDR") from None
    if len(seen) > MAX_ENTRIES:
        raise RuleError(name, f"at most {MAX_ENTRIES} entries, got {len(seen)}")
    return tuple(seen)


def _check_unique_limits(limits: tuple[Limit, ...]) -> None:
    keys = [(limit.kind, limit.window) for limit in limits]
    if len(set(keys)) != len(keys):
        raise RuleError("limits", "at most one limit per kind and window")


# --- sysmeta encoding -------------------------------------------------------------------------


def to_sysmeta_headers(rules: FirewallRules) -> dict[str, str]:
    """The container POST headers that store `rules`; empty rules give empty values (delete)."""
    if rules.empty:
        return {_header(name): "" for name in FIELDS}
    values = {
        "sws-fw-version": FORMAT_VERSION,
        "sws-fw-allow": ",".join(rules.allow),
        "sws-fw-exclusive": "true" if rules.exclusive else "",
        "sws-fw-deny": ",".join(rules.deny),
        "sws-fw-limits": ",".join(limit.encode() for limit in rules.limits),
    }
    return {_header(name): value for name, value in values.items()}


def _header(name: str) -> str:
    return SYSMETA_PREFIX + "-".join(part.capitalize() for part in name.split("-"))


def sysmeta_key(sysmeta: Mapping[str, str]) -> tuple[str, ...] | None:
    """The raw field values from a container info's `sysmeta` dict; None if no firewall."""
    if not sysmeta:
        return None
    get = sysmeta.get
    key = (
        get("sws-fw-version", ""),
        get("sws-fw-allow", ""),
        get("sws-fw-exclusive", ""),
        get("sws-fw-deny", ""),
        get("sws-fw-limits", ""),
    )
    return None if key == _NO_RULES else key


_NO_RULES = ("",) * len(FIELDS)


def from_sysmeta(key: tuple[str, ...]) -> FirewallRules:
    """Decode the raw values returned by `sysmeta_key`; raise RuleError if malformed."""
    version, allow, exclusive, deny, limits = key
    if version != FORMAT_VERSION:
        raise RuleError("sws-fw-version", f"unsupported format version {version!r}")
    if exclusive not in ("", "true", "false"):
        raise RuleError("sws-fw-exclusive", f"expected true or false, got {exclusive!r}")
    return FirewallRules(
        allow=_split(allow),
        deny=_split(deny),
        exclusive=exclusive == "true",
        limits=tuple(_decode_limit(item) for item in _split(limits)),
    )


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _decode_limit(item: str) -> Limit:
    try:
        spec, amount = item.split("=")
        kind, window = spec.split("/")
        return Limit(kind=kind, window=int(window), amount=int(amount))  # type: ignore[arg-type]
    except RuleError:
        raise
    except ValueError:
        raise RuleError("sws-fw-limits", f"cannot parse {item!r}") from None


# --- the compiled form ------------------------------------------------------------------------


def parse_ip(text: str) -> tuple[int, int] | None:
    """(IP version, integer) for an address string, IPv4-mapped IPv6 as IPv4; None if invalid."""
    try:
        if ":" not in text:
            return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
        value = int.from_bytes(socket.inet_pton(socket.AF_INET6, text.split("%", 1)[0]), "big")
    except (OSError, ValueError):
        return None
    if value >> 32 == 0xFFFF:
        return 4, value & 0xFFFFFFFF
    return 6, value


def parse_hop(text: str) -> tuple[int, int] | None:
    """One `X-Forwarded-For` hop as `parse_ip` reads it; None if it is not an address.

    Load balancers write `ip`, `ip:port` (IPv4), `v6`, `[v6]` or `[v6]:port`; spaces around the
    hop are ignored. A port is 1 to 5 digits. Anything else (a name, `unknown`, an empty hop)
    is None.
    """
    hop = text.strip(" \t")
    if hop.startswith("["):
        host, bracket, port = hop[1:].partition("]")
        if not bracket or ":" not in host or not _port_suffix(port):
            return None
        return parse_ip(host)
    if hop.count(":") == 1:
        host, _, port = hop.partition(":")
        return parse_ip(host) if _port_suffix(":" + port) else None
    return parse_ip(hop) if hop else None


def _port_suffix(text: str) -> bool:
    """'' or ':<1 to 5 ASCII digits>'."""
    return text == "" or (
        text[:1] == ":" and 1 <= len(text) - 1 <= 5 and text[1:].isascii() and text[1:].isdigit()
    )


@dataclass(frozen=True)
class _Ranges:
    """Disjoint, sorted, inclusive integer ranges; membership is one bisect."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]


def _merge(ranges: list[tuple[int, int]]) -> _Ranges:
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return _Ranges(tuple(r[0] for r in merged), tuple(r[1] for r in merged))


class IPSet:
    """A compiled CIDR list: `(version, integer) in ipset` costs one bisect."""

    __slots__ = ("cidrs", "v4", "v6")

    def __init__(self, cidrs: Iterable[str]) -> None:
        self.cidrs = tuple(cidrs)
        networks = [ipaddress.ip_network(cidr, strict=False) for cidr in self.cidrs]
        self.v4 = _merge([_bounds(n) for n in networks if n.version == 4])
        self.v6 = _merge([_bounds(n) for n in networks if n.version == 6])

    def __contains__(self, address: tuple[int, int]) -> bool:
        version, value = address
        ranges = self.v4 if version == 4 else self.v6
        index = bisect_right(ranges.starts, value) - 1
        return index >= 0 and value <= ranges.ends[index]

    def __bool__(self) -> bool:
        return bool(self.cidrs)

    def first_match(self, address: tuple[int, int]) -> str:
        """The first listed CIDR containing `address` (slow; only used to word a refusal)."""
        version, value = address
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address
        ip = ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)
        return next((c for c in self.cidrs if ip in ipaddress.ip_network(c, strict=False)), "?")


def _bounds(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    return int(network.network_address), int(network.broadcast_address)


@dataclass(frozen=True)
class CompiledRules:
    """What the proxy checks per request, precomputed once per distinct sysmeta value.

    Limits are sorted by window; `request_windows`/`byte_windows` and the thresholds
    (`request_caps` in requests, `byte_caps` in bytes) are parallel to them, so a request
    costs no allocation to decide.
    """

    rules: FirewallRules
    allow: IPSet
    deny: IPSet
    request_limits: tuple[Limit, ...]
    byte_limits: tuple[Limit, ...]
    exclusive: bool = False
    counted: bool = False
    request_windows: tuple[int, ...] = ()
    byte_windows: tuple[int, ...] = ()
    request_caps: tuple[int, ...] = ()
    byte_caps: tuple[int, ...] = ()


def compile_rules(rules: FirewallRules) -> CompiledRules:
    limits = sorted(rules.limits, key=lambda limit: limit.window)
    request_limits = tuple(limit for limit in limits if limit.kind == "requests")
    byte_limits = tuple(limit for limit in limits if limit.kind == "mb")
    return CompiledRules(
        rules=rules,
        allow=IPSet(rules.allow),
        deny=IPSet(rules.deny),
        request_limits=request_limits,
        byte_limits=byte_limits,
        exclusive=rules.exclusive,
        counted=bool(limits),
        request_windows=tuple(limit.window for limit in request_limits),
        byte_windows=tuple(limit.window for limit in byte_limits),
        request_caps=tuple(limit.amount for limit in request_limits),
        byte_caps=tuple(limit.amount * BYTES_PER_MB for limit in byte_limits),
    )


# --- the decision, shared by the proxy middleware and SWS's simulated store ---------------------

Address = tuple[int, int]
UNKNOWN: Address = (0, -1)  # no parseable client address: no list matches it


def address_key(address: Address) -> str:
    """The client part of a counter key: '4:c6336407', '6:20010db8…', or 'unknown'."""
    version, value = address
    return f"{version}:{value:x}" if value >= 0 else "unknown"


def screen(rules: CompiledRules, address: Address) -> tuple[bool, str | None]:
    """(whitelisted, refusal reason): a whitelisted address skips everything else."""
    if address in rules.allow:
        return True, None
    if rules.exclusive:
        return False, "the address is not on the exclusive whitelist"
    if address in rules.deny:
        return False, f"the address matches blacklist entry {rules.deny.first_match(address)}"
    return False, None


def within(rules: CompiledRules, requests: list[int], nbytes: list[int]) -> bool:
    """True when no request count is over its cap and no byte budget is used up.

    `requests` includes the request being decided (so N passes, N+1 does not); `nbytes` are the
    bytes already charged, so the request that crosses a budget completes and the next is refused.
    """
    for count, cap in zip(requests, rules.request_caps, strict=True):
        if count > cap:
            return False
    for used, cap in zip(nbytes, rules.byte_caps, strict=True):  # noqa: SIM110 (no genexpr)
        if used >= cap:
            return False
    return True


def exceeded(
    rules: CompiledRules, requests: list[int], nbytes: list[int], now: float
) -> tuple[Limit, int]:
    """The exceeded limit that ends last and its Retry-After (when `within` is False)."""
    over = [lim for lim, n in zip(rules.request_limits, requests, strict=True) if n > lim.amount]
    over += [
        lim
        for lim, n in zip(rules.byte_limits, nbytes, strict=True)
        if n >= lim.amount * BYTES_PER_MB
    ]
    limit = max(over, key=lambda lim: lim.window)
    return limit, max(1, math.ceil((now // limit.window + 1) * limit.window - now))


def limit_reason(limit: Limit, retry_after: int) -> str:
    return f"{limit.describe()} for this address exceeded; retry after {retry_after} s"


def refusal_text(reason: str) -> str:
    """The body of a refusal, e.g. 'Refused by the storage firewall: the address ….'"""
    return f"Refused by the storage firewall: {reason}."
