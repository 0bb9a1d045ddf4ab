"""The shared rule format: validation, the sysmeta round trip, and the compiled matcher."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sws_swift.rules import (
    FirewallRules,
    IPSet,
    Limit,
    RuleError,
    from_sysmeta,
    parse_ip,
    sysmeta_key,
    to_sysmeta_headers,
)
from tests.budget import examples


def _sysmeta(headers: dict[str, str]) -> dict[str, str]:
    """What get_container_info hands the proxy: lower-case names without the prefix."""
    return {k.lower().removeprefix("x-container-sysmeta-"): v for k, v in headers.items() if v}


def test_rules_round_trip_through_sysmeta() -> None:
    rules = FirewallRules(
        allow=("203.0.113.0/24", "2001:db8::/32"),
        deny=("192.0.2.7",),
        exclusive=True,
        limits=(Limit("requests", 300, 5000), Limit("mb", 86400, 10_000)),
    )
    headers = to_sysmeta_headers(rules)
    assert headers["X-Container-Sysmeta-Sws-Fw-Allow"] == "203.0.113.0/24,2001:db8::/32"
    assert headers["X-Container-Sysmeta-Sws-Fw-Limits"] == "requests/300=5000,mb/86400=10000"
    key = sysmeta_key(_sysmeta(headers))
    assert key is not None
    assert from_sysmeta(key) == rules


def test_empty_rules_clear_every_header() -> None:
    headers = to_sysmeta_headers(FirewallRules())
    assert len(headers) == 5
    assert set(headers.values()) == {""}
    assert sysmeta_key(_sysmeta(headers)) is None


def test_cidrs_are_normalised_and_deduplicated() -> None:
    rules = FirewallRules(deny=("10.1.2.3/8", "10.0.0.0/8", " 2001:DB8::1 "))
    assert rules.deny == ("10.0.0.0/8", "2001:db8::1/128")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (
            lambda: FirewallRules(allow=tuple(f"10.0.{i // 256}.{i % 256}" for i in range(101))),
            "allow",
        ),
        (lambda: FirewallRules(deny=("10.0.0.0/33",)), "deny[0]"),
        (lambda: FirewallRules(deny=("not-an-ip",)), "deny[0]"),
        (lambda: FirewallRules(deny="10.0.0.0/8"), "deny"),  # type: ignore[arg-type]
        (lambda: Limit("requests", 300, 0), "limits.requests/300"),
        (lambda: Limit("mb", 300, -5), "limits.mb/300"),
        (lambda: Limit("requests", 3600, 10), "limits.requests/3600"),
        (lambda: Limit("gb", 300, 10), "limits.gb/300"),  # type: ignore[arg-type]
        (lambda: FirewallRules(limits=(Limit("mb", 300, 1), Limit("mb", 300, 2))), "limits"),
        (lambda: FirewallRules(exclusive=True), "exclusive"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(build: object, field: str) -> None:
    with pytest.raises(RuleError) as caught:
        build()  # type: ignore[operator]
    assert caught.value.field == field


def test_exactly_100_entries_are_accepted() -> None:
    rules = FirewallRules(allow=tuple(f"10.0.0.{i}" for i in range(100)))
    assert len(rules.allow) == 100


@pytest.mark.parametrize(
    "key",
    [
        ("2", "", "", "10.0.0.0/8", ""),
        ("1", "", "maybe", "", ""),
        ("1", "", "", "", "requests/300"),
        ("1", "", "", "", "requests/300=many"),
        ("1", "", "", "", "requests/60=5"),
        ("", "", "", "10.0.0.0/8", ""),
    ],
)
def test_malformed_sysmeta_raises_rule_error(key: tuple[str, ...]) -> None:
    with pytest.raises(RuleError):
        from_sysmeta(key)


def test_parse_ip() -> None:
    assert parse_ip("10.0.0.1") == (4, 0x0A000001)
    assert parse_ip("::ffff:10.0.0.1") == (4, 0x0A000001)
    assert parse_ip("2001:db8::1") == (6, 0x20010DB8 << 96 | 1)
    assert parse_ip("fe80::1%eth0") == (6, 0xFE80 << 112 | 1)
    for bad in ("", "10.0.0", "10.0.0.256", "unknown", "::g", "1.2.3.4 "):
        assert parse_ip(bad) is None


ipv4_networks = st.builds(
    lambda value, prefix: ipaddress.IPv4Network((value, prefix), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)
ipv6_networks = st.builds(
    lambda value, prefix: ipaddress.IPv6Network((value, prefix), strict=False),
    st.integers(0, 2**128 - 1),
    st.integers(0, 128),
)
networks = st.lists(st.one_of(ipv4_networks, ipv6_networks), max_size=40)


def _address(version: int, value: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)


def _near(networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> st.SearchStrategy[str]:
    """Addresses on and just outside the networks' edges, plus random ones."""
    edges: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for net in networks:
        top = 2**32 - 1 if net.version == 4 else 2**128 - 1
        for value in (int(net.network_address) - 1, int(net.broadcast_address) + 1):
            if 0 <= value <= top:
                edges.append(
                    ipaddress.ip_address(value)
                    if net.version == 4
                    else ipaddress.IPv6Address(value)
                )
        edges += [net.network_address, net.broadcast_address]
    random = st.one_of(
        st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
        st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
    )
    choices = st.one_of(st.sampled_from(edges), random) if edges else random
    return choices.map(str)


@settings(max_examples=examples(300), deadline=None)
@given(data=st.data(), nets=networks)
def test_compiled_matcher_agrees_with_ipaddress(
    data: st.DataObject, nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> None:
    ipset = IPSet(str(net) for net in nets)
    for _ in range(20):
        text = data.draw(_near(nets))
        address = ipaddress.ip_address(text)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # the matcher treats ::ffff:a.b.c.d as IPv4, by design
        expected = any(address in net for net in nets if net.version == address.version)
        parsed = parse_ip(text)
        assert parsed is not None
        assert (parsed in ipset) is expected, (text, [str(n) for n in nets])
