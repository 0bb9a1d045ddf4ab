"""SWS roles and Keystone roles, both ways, in worked examples: each SWS role reads back as
itself from the Keystone roles it is (with the ones Keystone implies), the strongest wins,
and a role the mapping does not know still means member."""

from __future__ import annotations

import pytest

from sws.identity.team_keystone import keystone_roles, mapped_roles, role_from_keystone


@pytest.mark.parametrize(
    ("role", "roles"),
    [
        ("owner", {"member", "sws_owner"}),
        ("member", {"member"}),
        ("billing", {"reader", "sws_billing"}),
        ("viewer", {"reader"}),
    ],
)
def test_each_role_is_its_keystone_roles_and_reads_back(role: str, roles: set[str]) -> None:
    assert keystone_roles(role) == roles
    assert role_from_keystone(roles) == role
    assert role_from_keystone(roles | {"reader"}) == role  # member implies reader in Keystone


def test_the_strongest_mapped_role_wins_and_unknown_roles_mean_member() -> None:
    assert role_from_keystone({"reader", "sws_billing", "member"}) == "member"
    assert role_from_keystone({"sws_owner", "reader"}) == "owner"
    assert role_from_keystone({"_member_"}) == "member"
    assert role_from_keystone({"reader", "load-balancer_observer"}) == "viewer"


def test_a_configured_member_role_is_used_both_ways() -> None:
    assert keystone_roles("owner", member_role="tenant") == {"tenant", "sws_owner"}
    assert role_from_keystone({"tenant"}, member_role="tenant") == "member"
    assert mapped_roles("tenant") == {"tenant", "reader", "sws_owner", "sws_billing"}
