"""The agent's parsers: nft's JSON elements and conntrack's listing."""

from __future__ import annotations

from sws.netfilter.compiler import compile_ruleset
from sws.netfilter.model import AllowRule, Instance, InternalNetwork, Policy
from sws_agent.netfilter import Flow, parse_conntrack, parse_element, revoked_flows

LISTING = """\
tcp      6 431998 ESTABLISHED src=10.251.0.2 dst=10.251.1.10 sport=41000 dport=8080 \
src=10.251.1.10 dst=10.251.0.2 sport=8080 dport=41000 [ASSURED] mark=0 use=1
icmp     1 29 src=10.251.0.2 dst=10.251.1.10 type=8 code=0 id=7 src=10.251.1.10 \
dst=10.251.0.2 type=0 code=0 id=7 mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.
"""


def test_conntrack_listing_is_parsed_by_its_original_tuple() -> None:
    flows = parse_conntrack(LISTING)
    assert flows == [Flow(6, "10.251.0.2", "10.251.1.10", 41000, 8080),
                     Flow(1, "10.251.0.2", "10.251.1.10", None, None)]


def test_nft_json_elements_become_boxes() -> None:
    raw = {"concat": ["10.0.0.2", {"prefix": {"addr": "10.1.0.0", "len": 16}}, "tcp",
                      {"range": [80, 90]}]}
    assert parse_element("allow4", raw) == (
        (167772162, 167772162), (167837696, 167903231), (6, 6), (80, 90)
    )
    assert parse_element("guarded6", {"range": ["fd00::", "fd00::ff"]})[0][1] - 255 == \
        parse_element("guarded6", "fd00::")[0][0]


def test_only_flows_the_new_ruleset_forbids_are_revoked() -> None:
    vm = Instance("v", "t", ("10.251.0.2",))
    internal = (InternalNetwork("n", "10.251.1.0/24"),)
    wide = AllowRule("w", "all", "10.251.1.0/28", "tcp", 8000, 9000)
    narrow = AllowRule("n", "all", "10.251.1.10/32", "tcp", 8080, 8080)
    old = compile_ruleset(Policy(internal, (wide,)), [vm], host="h", now=_now())
    new = compile_ruleset(Policy(internal, (narrow,)), [vm], host="h", now=_now())
    removed = {n: set(old.elements(n)) - set(new.elements(n)) for n in old.sets}
    flows = [Flow(6, "10.251.0.2", "10.251.1.10", 1, 8080), Flow(6, "10.251.0.2", "10.251.1.3",
                                                                  1, 8500)]
    assert revoked_flows(flows, removed, new) == flows[1:]


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, tzinfo=UTC)
