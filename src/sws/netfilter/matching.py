"""A Python model of how the kernel applies a compiled ruleset to one packet.

It follows the nftables chains of `nftables.render` rule by rule, looking elements up in the
ruleset's sets with interval containment, as the kernel's set backends do. The property tests
hold it against a reference evaluator written straight from the policy; admins can use it to
explain a verdict.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from sws.netfilter.compiler import Box, Ruleset

Verdict = Literal["drop", "continue"]


@dataclass(frozen=True, slots=True)
class Packet:
    """The first packet of a connection (ct state new), as the forward hook sees it."""

    source: str
    destination: str
    proto: int
    dport: int
    established: bool = False


def decide(ruleset: Ruleset, packet: Packet) -> Verdict:
    """`drop`, or `continue` to the next chains (the filter never accepts)."""
    if packet.established:
        return "continue"
    src, dst = ipaddress.ip_address(packet.source), ipaddress.ip_address(packet.destination)
    if src.version != dst.version:
        return "continue"
    family, s, d = src.version, int(src), int(dst)
    key = (s, d, packet.proto, packet.dport)
    if _in(ruleset, f"vm{family}", (s,)) and _in(ruleset, f"guarded{family}", (d,)):
        allowed = _in(ruleset, f"exact{family}", key) or _in(ruleset, f"allow{family}", key)
        return "continue" if allowed else "drop"
    if _in(ruleset, f"vm{family}", (d,)) and _in(ruleset, f"guarded{family}", (s,)):
        return "continue" if _in(ruleset, f"bridge{family}", key) else "drop"
    return "continue"


def _in(ruleset: Ruleset, name: str, key: tuple[int, ...]) -> bool:
    return any(_contains(box, key) for box in ruleset.elements(name))


def _contains(box: Box, key: tuple[int, ...]) -> bool:
    return all(lo <= value <= hi for (lo, hi), value in zip(box, key, strict=True))
