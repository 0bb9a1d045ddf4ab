"""Render a `Ruleset` for `iptables-restore --noflush` / `ip6tables-restore --noflush`.

The fallback for hosts without nftables: SWS owns three chains in the filter table,
`SWS-FILTER` (jumped to from the top of FORWARD: the agent inserts that one rule),
`SWS-EGRESS` and `SWS-INGRESS`. Declaring a chain in a restore file flushes it, so each
reload replaces exactly our chains in one commit and leaves every other rule alone. Allowed
packets meet `RETURN` and go on through FORWARD; the rest meet `DROP`. There are no sets, so
matching is linear in the number of entries: fine for a few hundred, slow for thousands.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from sws.netfilter.compiler import Box, Interval, Ruleset
from sws.netfilter.nftables import PROTO_NAMES

CHAIN = "SWS-FILTER"
EGRESS = "SWS-EGRESS"
INGRESS = "SWS-INGRESS"
JUMP = ["-j", CHAIN]
PORTED = {6, 17}


def render(ruleset: Ruleset, family: int) -> str:
    """The restore file for one family (4: iptables, 6: ip6tables), byte-identical per ruleset."""
    lines = [
        f"# SWS filter for host {ruleset.host}, ruleset {ruleset.digest()}, IPv{family}.",
        "*filter",
        f":{CHAIN} - [0:0]",
        f":{EGRESS} - [0:0]",
        f":{INGRESS} - [0:0]",
        f"-A {CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
    ]
    guarded = [c for (iv,) in ruleset.elements(f"guarded{family}") for c in cidrs(family, iv)]
    lines += [f"-A {CHAIN} -d {c} -j {EGRESS}" for c in guarded]
    lines += [f"-A {CHAIN} -s {c} -j {INGRESS}" for c in guarded]
    allowed = sorted(ruleset.elements(f"allow{family}") + ruleset.elements(f"exact{family}"))
    lines += _entries(EGRESS, tuple(allowed), family)
    vms = [cidrs(family, iv)[0] for (iv,) in ruleset.elements(f"vm{family}")]
    lines += [f"-A {EGRESS} -s {vm} -j DROP" for vm in vms]
    lines += _entries(INGRESS, ruleset.elements(f"bridge{family}"), family)
    lines += [f"-A {INGRESS} -d {vm} -j DROP" for vm in vms]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _entries(chain: str, boxes: tuple[Box, ...], family: int) -> list[str]:
    return [
        f"-A {chain} -s {src} -d {dst}{match} -j RETURN"
        for src_iv, dst_iv, proto, ports in boxes
        for src in cidrs(family, src_iv)
        for dst in cidrs(family, dst_iv)
        for match in _proto_port(proto, ports, family)
    ]


def _proto_port(proto: Interval, ports: Interval, family: int) -> Iterator[str]:
    lo, hi = proto
    if (lo, hi) == (0, 255):
        yield ""
        return
    for number in range(lo, hi + 1):
        name = PROTO_NAMES.get(number, str(number))
        if number in PORTED and ports != (0, 65535):
            span = str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}:{ports[1]}"
            yield f" -p {name} -m {name} --dport {span}"
        else:
            yield f" -p {name}"


def cidrs(family: int, interval: Interval) -> list[str]:
    """An address interval as the fewest CIDRs (iptables has no ranges without -m iprange)."""
    make = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    bits = 32 if family == 4 else 128
    nets = ipaddress.summarize_address_range(make(interval[0]), make(interval[1]))
    return [str(n) if n.prefixlen != bits else f"{n.network_address}/{bits}" for n in nets]
