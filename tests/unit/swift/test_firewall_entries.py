"""What a tenant may put in a container's firewall lists: nothing is changed silently.

SWS's use case (`sws.storagefw.service.firewall_rules`) refuses what the shared rule format would
otherwise drop or keep quietly: duplicates, more than 100 entries as given, IPv6 zone ids, and
limits past the documented maximum. Each refusal names the field.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sws.errors import Invalid
from sws.storagefw.model import FirewallRules
from sws.storagefw.service import firewall_rules
from tests.budget import examples


def rules(**kw: Any) -> FirewallRules:
    args: dict[str, Any] = {"allow": [], "deny": [], "exclusive": False, "limits": []}
    return firewall_rules(**{**args, **kw})


def refusal(**kw: Any) -> Invalid:
    with pytest.raises(Invalid) as caught:
        rules(**kw)
    return caught.value


def test_one_hundred_and_one_identical_entries_are_refused_not_folded_into_one() -> None:
    error = refusal(allow=["192.0.2.7"] * 101)
    assert error.field == "allow"
    assert "at most 100 entries, got 101" in error.detail


def test_a_repeated_network_names_the_repeat_and_the_first() -> None:
    error = refusal(deny=["10.0.0.0/8", "192.0.2.7", "192.0.2.7/32"])
    assert error.field == "deny[2]"
    assert "already listed as deny[1]" in error.detail


def test_host_bits_make_no_new_network() -> None:
    assert refusal(allow=["203.0.113.0/24", " 203.0.113.9/24"]).field == "allow[1]"


def test_a_zone_id_is_refused() -> None:
    error = refusal(allow=["fe80::1%eth0"])
    assert error.field == "allow[0]"
    assert "zone id" in error.detail


def test_a_forty_digit_limit_is_refused() -> None:
    error = refusal(limits=[{"kind": "requests", "window": 300, "amount": 10**39}])
    assert error.field == "limits.requests/300"
    assert "at most 1,000,000,000" in error.detail


def test_the_same_address_may_be_both_allowed_and_denied() -> None:
    """Not a duplicate: the whitelist wins, as documented."""
    stored = rules(allow=["192.0.2.7"], deny=["192.0.2.7"])
    assert stored.allow == stored.deny == ("192.0.2.7/32",)


networks = st.lists(
    st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str), min_size=1, max_size=100
)


@settings(max_examples=examples(100))
@given(entries=networks, data=st.data())
def test_distinct_entries_are_kept_in_order_and_a_copied_one_is_named(
    entries: list[str], data: st.DataObject
) -> None:
    distinct = list(dict.fromkeys(str(ipaddress.ip_network(e)) for e in entries))
    assert rules(allow=distinct).allow == tuple(distinct)
    if len(distinct) == 100:
        return
    copied = data.draw(st.integers(0, len(distinct) - 1))
    error = refusal(allow=[*distinct, distinct[copied]])
    assert error.field == f"allow[{len(distinct)}]"
    assert f"already listed as allow[{copied}]" in error.detail
