"""One agent round against a fake kernel and a fake API: it fails closed (an unknown host
changes nothing, a ruleset that lost every VM is refused), names drift, keeps the last
ruleset in --state-dir and falls back to it when the API is down."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sws.netfilter import nftables
from sws.netfilter.compiler import SPEC_BY_NAME, Ruleset, compile_ruleset
from sws.netfilter.model import AllowRule, Instance, InternalNetwork, Policy
from sws_agent.netfilter import (
    KernelState,
    LastApplied,
    Sets,
    Shell,
    UnknownHost,
    enforce,
    held_digest,
    parse_element,
    sync_once,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
VM = Instance("vm-a", "tenant-a", ("10.251.0.2",), host="compute-01")
INTERNAL = (InternalNetwork("n4", "10.251.1.0/24"),)
DB = AllowRule("r1", "all", "10.251.1.10/32", "tcp", 8080, 8080, reason="db")


def ruleset(*vms: Instance, rules: tuple[AllowRule, ...] = (DB,)) -> Ruleset:
    return compile_ruleset(Policy(internal=INTERNAL, rules=rules), vms, host="compute-01",
                           now=NOW)


@dataclass
class FakeKernel:
    """An nftables target whose table is a dict: applies whole, reads back what it holds."""

    table: KernelState | None = None
    name: str = "nft"

    def read(self) -> KernelState | None:
        if self.table is None:
            return None
        return KernelState({n: set(v) for n, v in self.table.sets.items()}, dict(self.table.rules))

    def apply(self, rules: Ruleset, current: KernelState | None) -> tuple[str, Sets]:
        before = current.sets if current else {}
        wanted = {n: set(rules.elements(n)) for n in SPEC_BY_NAME}
        mode = "full" if current is None else "unchanged" if before == wanted else "delta"
        self.table = KernelState(wanted, dict(nftables.RULE_COUNTS))
        return mode, before

    def hand_add(self, name: str, element: str) -> None:
        assert self.table is not None
        fields = element.split(" . ")
        raw = {"concat": fields} if len(fields) > 1 else fields[0]
        self.table.sets[name].add(parse_element(name, raw))


class NoConntrack(Shell):
    """No tracked connections: `conntrack -L` lists nothing, nothing else runs."""

    def run(self, args: Sequence[str], stdin: str | None = None
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(list(args), 0, "", "")


@dataclass
class FakeApi:
    rulesets: dict[str, Ruleset] = field(default_factory=dict)
    down: bool = False
    reports: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def ruleset(self, host: str) -> Ruleset:
        if self.down:
            raise ConnectionRefusedError("connection refused")
        if host not in self.rulesets:
            raise UnknownHost(f"compute host {host!r} is not known to SWS")
        return self.rulesets[host]

    def report(self, host: str, body: Mapping[str, Any]) -> None:
        self.reports.append((host, dict(body)))


def test_a_table_guarding_vms_is_not_replaced_by_one_guarding_none() -> None:
    kernel = FakeKernel()
    enforce(kernel, NoConntrack(), ruleset(VM))
    working = held_digest(kernel.read())
    report = enforce(kernel, NoConntrack(), ruleset())
    assert report["mode"] == "refused" and "--allow-empty" in report["error"]
    assert not report["in_sync"] and report["digest"] == working == ruleset(VM).digest()
    assert held_digest(kernel.read()) == working, "the kernel keeps guarding the VM"
    forced = enforce(kernel, NoConntrack(), ruleset(), allow_empty=True)
    assert forced["mode"] == "delta" and held_digest(kernel.read()) == ruleset().digest()


def test_an_empty_ruleset_on_an_empty_host_is_no_refusal() -> None:
    assert enforce(FakeKernel(), NoConntrack(), ruleset())["mode"] == "full"


def test_a_mistyped_host_is_reported_and_changes_nothing() -> None:
    kernel, api = FakeKernel(), FakeApi({"compute-01": ruleset(VM)})
    sync_once(api, "compute-01", kernel, NoConntrack())
    with pytest.raises(UnknownHost):
        sync_once(api, "compute-O1", kernel, NoConntrack())
    host, body = api.reports[-1]
    assert host == "compute-O1" and body["mode"] == "failed" and not body["in_sync"]
    assert "does not know this host" in body["error"]
    assert body["digest"] == held_digest(kernel.read()) == ruleset(VM).digest()
    assert set(body) == {"target", "digest", "in_sync", "elements", "mode", "drift", "error",
                         "apply_seconds"}


def test_a_hand_added_element_is_named_as_repaired_drift(tmp_path: Path) -> None:
    kernel, memory = FakeKernel(), LastApplied(tmp_path)
    enforce(kernel, NoConntrack(), ruleset(VM), memory=memory)
    kernel.hand_add("exact4", "10.251.0.2 . 10.251.1.99 . tcp . 22")
    report = enforce(kernel, NoConntrack(), ruleset(VM), memory=memory)
    assert report["mode"] == "delta" and report["in_sync"]
    assert report["drift"] == {
        "repaired": {"exact4": {"unexpected": ["10.251.0.2 . 10.251.1.99 . tcp . 22"]}}}
    assert report["changes"] == {"exact4": {"removed": ["10.251.0.2 . 10.251.1.99 . tcp . 22"]}}


def test_a_policy_change_is_a_change_not_drift_and_no_cut_is_no_drift(tmp_path: Path) -> None:
    kernel, memory = FakeKernel(), LastApplied(tmp_path)
    enforce(kernel, NoConntrack(), ruleset(VM), memory=memory)
    report = enforce(kernel, NoConntrack(), ruleset(VM, rules=()), memory=memory)
    assert report["drift"] == {} and report["conntrack_deleted"] == 0
    assert report["changes"] == {"exact4": {"removed": ["10.251.0.2 . 10.251.1.10 . tcp . 8080"]}}


def test_the_state_dir_holds_the_last_applied_ruleset(tmp_path: Path) -> None:
    enforce(FakeKernel(), NoConntrack(), ruleset(VM), memory=LastApplied(tmp_path))
    assert LastApplied(tmp_path).load("compute-01") == ruleset(VM)
    assert LastApplied(tmp_path).load("compute-02") is None, "another host's is not ours"
    assert LastApplied(tmp_path / "nothing-yet").load("compute-01") is None


def test_after_a_reboot_with_the_api_down_the_last_ruleset_is_enforced(tmp_path: Path) -> None:
    memory, api = LastApplied(tmp_path), FakeApi({"compute-01": ruleset(VM)})
    sync_once(api, "compute-01", FakeKernel(), NoConntrack(), memory=memory)
    rebooted, api.down = FakeKernel(), True  # an empty kernel, and no API
    report = sync_once(api, "compute-01", rebooted, NoConntrack(), memory=memory)
    assert report["mode"] == "full" and "API unreachable" in report["error"]
    assert held_digest(rebooted.read()) == ruleset(VM).digest()


def test_without_a_last_ruleset_an_unreachable_api_fails_the_round(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        sync_once(FakeApi(down=True), "compute-01", FakeKernel(), NoConntrack(),
                  memory=LastApplied(tmp_path))


def test_the_held_digest_is_the_api_digest_of_the_same_sets() -> None:
    rules = ruleset(VM)
    state = KernelState({n: set(rules.elements(n)) for n in SPEC_BY_NAME})
    assert held_digest(state) == rules.digest() and held_digest(None) == ""
