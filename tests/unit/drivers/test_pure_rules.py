"""The pure rules: placement, the state machine, key pairs and security group rules."""

from __future__ import annotations

import pytest

from sws.drivers.base import SecurityGroupRuleCreate
from sws.drivers.simulated import keys
from sws.drivers.simulated.catalog import FLAVORS_BY_ID
from sws.drivers.simulated.rules import normalise_rule
from sws.drivers.simulated.scheduler import (
    NO_VALID_HOST,
    AllocationRatios,
    HostState,
    place_many,
    select_host,
)
from sws.drivers.simulated.states import api_status, ensure_allowed
from sws.errors import Conflict, Invalid

RATIOS = AllocationRatios()
LARGE = FLAVORS_BY_ID["4"]  # 4 vCPU, 8 GiB, 80 GB

# ssh-keygen -t ed25519; ssh-keygen -l -E md5 gives this fingerprint.
ED25519 = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2NCIn8hM1CytHHAxR9guF90ZljAAAwp3gDucAiAsnj alice@laptop"
)


def host(name: str, ram_used: int = 0, vcpus_used: int = 0) -> HostState:
    return HostState(
        name, vcpus=8, ram_mb=16384, disk_gb=500, vcpus_used=vcpus_used, ram_used_mb=ram_used
    )


def test_scheduler_weighs_by_free_ram_then_name() -> None:
    assert select_host([host("b"), host("a")], LARGE, RATIOS) == "a"
    assert select_host([host("a", ram_used=4096), host("b")], LARGE, RATIOS) == "b"


def test_scheduler_overcommits_cpu_but_not_ram() -> None:
    assert select_host([host("a", vcpus_used=28)], LARGE, RATIOS) == "a"  # 8 x 4.0 = 32
    with pytest.raises(Conflict, match="No valid host was found"):
        select_host([host("a", ram_used=12000)], LARGE, RATIOS)


def test_place_many_sees_its_own_placements() -> None:
    assert place_many([host("a"), host("b")], LARGE, 3, RATIOS) == ["a", "b", "a"]
    with pytest.raises(Conflict) as error:
        place_many([host("a")], LARGE, 3, RATIOS)
    assert error.value.detail == NO_VALID_HOST


@pytest.mark.parametrize(
    ("vm_state", "task_state", "status"),
    [
        ("building", "spawning", "BUILD"),
        ("active", None, "ACTIVE"),
        ("active", "rebooting", "REBOOT"),
        ("active", "resize_migrating", "RESIZE"),
        ("stopped", None, "SHUTOFF"),
        ("resized", None, "VERIFY_RESIZE"),
        ("resized", "resize_reverting", "REVERT_RESIZE"),
        ("shelved_offloaded", None, "SHELVED_OFFLOADED"),
        ("error", None, "ERROR"),
    ],
)
def test_api_status(vm_state: str, task_state: str | None, status: str) -> None:
    assert api_status(vm_state, task_state) == status


def test_illegal_transitions_are_worded_like_nova() -> None:
    with pytest.raises(Conflict, match="Cannot 'start' instance s1 while it is in vm_state active"):
        ensure_allowed("start", "s1", "active", None)
    with pytest.raises(Conflict, match="while it is in task_state powering-off"):
        ensure_allowed("stop", "s1", "active", "powering-off")
    ensure_allowed("resize", "s1", "stopped", None)


def test_keypair_fingerprint_is_nova_md5() -> None:
    assert keys.validate_public_key(ED25519 + "\n") == ED25519
    assert keys.fingerprint(ED25519) == "f2:be:0a:bc:c8:e9:f2:79:2f:80:b4:0f:46:48:a5:63"


@pytest.mark.parametrize(
    "bad",
    ["", "hello", "ssh-rsa", "ssh-rsa not-base64!", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMk9"],
)
def test_keypair_import_refuses_what_is_not_an_openssh_key(bad: str) -> None:
    with pytest.raises(Invalid) as error:
        keys.validate_public_key(bad)
    assert error.value.field == "public_key"


def test_generated_keypair_round_trips() -> None:
    pair = keys.generate("Generated-by-SWS")
    assert pair.private_key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert keys.validate_public_key(pair.public_key).startswith("ssh-ed25519 ")


@pytest.mark.parametrize("name", ["", "   ", "a/b", "x" * 256])
def test_keypair_names_are_checked(name: str) -> None:
    with pytest.raises(Invalid):
        keys.validate_name(name)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (SecurityGroupRuleCreate(direction="sideways"), "direction"),
        (SecurityGroupRuleCreate(ethertype="IPv5"), "ethertype"),
        (SecurityGroupRuleCreate(protocol="gre"), "protocol"),
        (SecurityGroupRuleCreate(port_range_min=22, port_range_max=22), "protocol"),
        (
            SecurityGroupRuleCreate(protocol="tcp", port_range_min=0, port_range_max=22),
            "port_range_min",
        ),
        (
            SecurityGroupRuleCreate(protocol="tcp", port_range_min=1, port_range_max=70000),
            "port_range_max",
        ),
        (
            SecurityGroupRuleCreate(protocol="tcp", port_range_min=443, port_range_max=80),
            "port_range_min",
        ),
        (SecurityGroupRuleCreate(protocol="tcp", port_range_min=22), "port_range_max"),
        (
            SecurityGroupRuleCreate(protocol="icmp", port_range_min=8, port_range_max=300),
            "port_range_max",
        ),
        (SecurityGroupRuleCreate(remote_ip_prefix="10.0.0.300/8"), "remote_ip_prefix"),
        (SecurityGroupRuleCreate(remote_ip_prefix="2001:db8::/32"), "remote_ip_prefix"),
    ],
)
def test_bad_rules_name_the_field(rule: SecurityGroupRuleCreate, field: str) -> None:
    with pytest.raises(Invalid) as error:
        normalise_rule(rule)
    assert error.value.field == field


def test_good_rules_are_normalised() -> None:
    rule = normalise_rule(
        SecurityGroupRuleCreate(
            protocol="TCP", port_range_min=22, port_range_max=22, remote_ip_prefix="192.0.2.7/24"
        )
    )
    assert (rule.protocol, rule.remote_ip_prefix) == ("tcp", "192.0.2.0/24")
    assert normalise_rule(SecurityGroupRuleCreate(protocol="any")).protocol is None
