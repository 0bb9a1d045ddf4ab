"""Render a `Ruleset` as an nftables script: the table `inet sws_filter`, and nothing else.

`render(ruleset)` is a whole-table script for one `nft -f` transaction: it creates the table
if missing, deletes it, and defines it again, so the kernel swaps old for new atomically and
never sees a half-loaded filter. Other tables (Neutron's, Docker's, the host's) are untouched.

The base chain hooks `forward` at priority `filter - 10`. It never says `accept`: a packet the
filter allows meets `return` (or the end of the chain) and goes on to the next chains at this
hook, the security groups among them. Only `drop` is final. `render_delta` turns a `Delta`
into `add element` / `delete element` commands for a change without a reload.
"""

from __future__ import annotations

import ipaddress

from sws.netfilter.compiler import SET_SPECS, SPEC_BY_NAME, Box, Delta, Interval, Ruleset, SetSpec

TABLE = "sws_filter"
FAMILY = "inet"
CHAINS = ("forward", "egress", "ingress")
NFT_TYPES = {
    ("addr", 4): "ipv4_addr", ("addr", 6): "ipv6_addr",
    ("proto", 4): "inet_proto", ("proto", 6): "inet_proto",
    ("port", 4): "inet_service", ("port", 6): "inet_service",
}
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp"}

FORWARD = """\
	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		ct state established,related return
		ip saddr @vm4 ip daddr @guarded4 goto egress
		ip6 saddr @vm6 ip6 daddr @guarded6 goto egress
		ip daddr @vm4 ip saddr @guarded4 goto ingress
		ip6 daddr @vm6 ip6 saddr @guarded6 goto ingress
	}

	chain egress {
		ip saddr . ip daddr . meta l4proto . th dport @exact4 return
		ip saddr . ip daddr . meta l4proto . th dport @allow4 return
		ip6 saddr . ip6 daddr . meta l4proto . th dport @exact6 return
		ip6 saddr . ip6 daddr . meta l4proto . th dport @allow6 return
		counter drop
	}

	chain ingress {
		ip saddr . ip daddr . meta l4proto . th dport @bridge4 return
		ip6 saddr . ip6 daddr . meta l4proto . th dport @bridge6 return
		counter drop
	}
"""
#: Rules per chain, as `nft -j list table` shows them: the agent's structure check.
RULE_COUNTS = {"forward": 5, "egress": 5, "ingress": 3}


def render(ruleset: Ruleset) -> str:
    """The whole-table script, byte-identical for the same ruleset."""
    head = (
        f"# SWS filter for host {ruleset.host}, ruleset {ruleset.digest()}.\n"
        "# Generated; sws-agent replaces this table as a whole. Do not edit.\n"
        f"table {FAMILY} {TABLE} {{}}\n"
        f"delete table {FAMILY} {TABLE}\n"
        f"table {FAMILY} {TABLE} {{\n"
    )
    body = "".join(_set_block(spec, ruleset.elements(spec.name)) for spec in SET_SPECS)
    return head + body + FORWARD + "}\n"


def _set_block(spec: SetSpec, elements: tuple[Box, ...]) -> str:
    types = " . ".join(NFT_TYPES[(kind, spec.family)] for kind in spec.fields)
    lines = [f"\tset {spec.name} {{", f"\t\ttype {types}"]
    if spec.interval:
        lines.append("\t\tflags interval")
    if elements:
        items = [element_text(spec, box) for box in elements]
        lines.append("\t\telements = {")
        lines.extend(f"\t\t\t{item}," for item in items)
        lines.append("\t\t}")
    lines.append("\t}")
    return "\n".join(lines) + "\n\n"


def element_text(spec: SetSpec, box: Box) -> str:
    pairs = zip(spec.fields, box, strict=True)
    return " . ".join(_field(kind, spec.family, iv) for kind, iv in pairs)


def _field(kind: str, family: int, interval: Interval) -> str:
    lo, hi = interval
    if kind == "addr":
        return address_text(family, lo, hi)
    if kind == "proto" and lo == hi:
        return PROTO_NAMES.get(lo, str(lo))
    return str(lo) if lo == hi else f"{lo}-{hi}"


def address_text(family: int, lo: int, hi: int) -> str:
    make = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    if lo == hi:
        return str(make(lo))
    size = hi - lo + 1
    if size & (size - 1) == 0 and lo % size == 0:
        bits = 32 if family == 4 else 128
        return f"{make(lo)}/{bits - size.bit_length() + 1}"
    return f"{make(lo)}-{make(hi)}"


def render_delta(delta: Delta) -> str:
    """One transaction of element deletions, then additions; no table reload."""
    lines = []
    for verb, part in (("delete", delta.remove), ("add", delta.add)):
        for name in sorted(part):
            spec = SPEC_BY_NAME[name]
            for chunk in _chunks(part[name], 1000):
                items = ", ".join(element_text(spec, box) for box in chunk)
                lines.append(f"{verb} element {FAMILY} {TABLE} {name} {{ {items} }}")
    return "\n".join(lines) + ("\n" if lines else "")


def _chunks(items: tuple[Box, ...], size: int) -> list[tuple[Box, ...]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
