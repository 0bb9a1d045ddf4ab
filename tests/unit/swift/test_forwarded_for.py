"""Which address the firewall judges behind load balancers: X-Forwarded-For hops, parsed.

Balancers write hops as `ip`, `ip:port`, `[v6]` or `[v6]:port`; every form must read as the same
address. A hop that is not an address must never let the walk stop on the trusted proxy's own
address: the request is refused (400) instead.
"""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from sws_swift.middleware import StorageFirewall
from sws_swift.rules import parse_hop, parse_ip
from tests.budget import examples
from tests.unit.swift.test_middleware import FakeLogger, FakeSwift, call, rules

TRUSTED = "192.0.2.0/24, 2001:db8:ff::/48"
ports = st.integers(min_value=0, max_value=65535)
v4 = st.ip_addresses(v=4).map(str)
v6 = st.ip_addresses(v=6).map(str)
untrusted_v4 = (
    st.ip_addresses(v=4).filter(lambda a: a not in ipaddress.ip_network("192.0.2.0/24")).map(str)
)
spaces = st.sampled_from(["", " ", "  ", "\t"])
garbage = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "unknown",
            "_hidden",
            "[::1",
            "::1]:80",
            "1.2.3.4:",
            "1.2.3.4:x",
            "[1.2.3.4]:80",
            "1.2.3.4:123456",
            "999.1.1.1",
            "host.example:80",
        ]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_.", min_size=1, max_size=12),
)


def firewall() -> StorageFirewall:
    return StorageFirewall(FakeSwift(), {"trusted_proxies": TRUSTED}, logger=FakeLogger())


def judged(forwarded: str, peer: str = "192.0.2.10") -> tuple[int, int] | None:
    return firewall().client_address({"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded})


@settings(max_examples=examples(200))
@given(address=v4, port=ports, before=spaces, after=spaces)
def test_an_ipv4_hop_reads_the_same_with_or_without_a_port(
    address: str, port: int, before: str, after: str
) -> None:
    expected = parse_ip(address)
    assert expected is not None
    assert parse_hop(f"{before}{address}{after}") == expected
    assert parse_hop(f"{before}{address}:{port}{after}") == expected


@settings(max_examples=examples(200))
@given(address=v6, port=ports, before=spaces)
def test_an_ipv6_hop_reads_the_same_bare_bracketed_or_with_a_port(
    address: str, port: int, before: str
) -> None:
    expected = parse_ip(address)
    assert expected is not None
    assert parse_hop(f"{before}{address}") == expected
    assert parse_hop(f"{before}[{address}]") == expected
    assert parse_hop(f"{before}[{address}]:{port}") == expected


@settings(max_examples=examples(200))
@given(text=garbage)
def test_a_hop_that_is_not_an_address_is_none(text: str) -> None:
    assert parse_hop(text) is None


@settings(max_examples=examples(200))
@given(
    client=untrusted_v4,
    port=st.none() | ports,
    left=st.lists(garbage | v4, max_size=3),
    proxies=st.lists(
        st.sampled_from(["192.0.2.11", "192.0.2.12:8080", "[2001:db8:ff::3]:443"]), max_size=3
    ),
)
def test_the_client_is_the_rightmost_untrusted_hop_whatever_lies_left_of_it(
    client: str, port: int | None, left: list[str], proxies: list[str]
) -> None:
    hop = client if port is None else f"{client}:{port}"
    assert judged(",".join([*left, hop, *proxies])) == parse_ip(client)


@settings(max_examples=examples(200))
@given(
    bad=garbage,
    client=untrusted_v4,
    proxies=st.lists(st.sampled_from(["192.0.2.11", "192.0.2.12:8080"]), max_size=3),
)
def test_an_unparseable_hop_among_the_trusted_ones_is_refused_never_the_proxy(
    bad: str, client: str, proxies: list[str]
) -> None:
    assert judged(",".join([client, bad, *proxies])) is None


def test_header_lines_joined_by_the_server_count_alike() -> None:
    """eventlet.wsgi joins a repeated header with ',' (no space); both lines are hops."""
    assert judged("203.0.113.5,192.0.2.11") == parse_ip("203.0.113.5")
    assert judged("203.0.113.5:61000, [2001:db8:ff::2]:443") == parse_ip("203.0.113.5")


def test_only_trusted_hops_judge_the_leftmost() -> None:
    assert judged("192.0.2.11:1, 192.0.2.12") == parse_ip("192.0.2.11")


def test_an_untrusted_peer_is_judged_itself_whatever_it_forwards() -> None:
    assert judged("garbage", peer="198.51.100.7") == parse_ip("198.51.100.7")


def test_a_refused_hop_answers_400_naming_the_header() -> None:
    wall = firewall()
    sysmeta = rules(deny=("203.0.113.0/24",))
    status, _, body = call(wall, sysmeta, ip="192.0.2.10", X_Forwarded_For="203.0.113.5:4711")
    assert status == 403  # the port no longer hides the blacklisted client
    status, _, body = call(wall, sysmeta, ip="192.0.2.10", X_Forwarded_For="nonsense")
    assert status == 400
    assert b"X-Forwarded-For" in body
    status, _, _ = call(wall, sysmeta, ip="192.0.2.10", X_Forwarded_For="")
    assert status == 400
