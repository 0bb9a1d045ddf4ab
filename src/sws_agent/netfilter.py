"""`sws-agent netfilter`: enforce this compute node's SWS filter ruleset.

    sws-agent netfilter --api https://sws.example/ --host compute-01 --token "$ADMIN_TOKEN"

Each round the agent fetches the host's compiled ruleset from the SWS API
(`GET /v1/admin/netfilter/hosts/{host}/ruleset`; a RabbitMQ push is not wired yet, the poll
interval bounds the delay), reads what the kernel holds now and:

- applies the whole table in one `nft -f` transaction (create, delete, define `inet
  sws_filter`) when the table is missing or not ours in shape: atomic, other tables untouched;
- otherwise applies only the set elements that changed (`delete element` / `add element`,
  again one transaction), so a single rule change costs milliseconds and no reload;
- deletes the conntrack entries of connections the new ruleset no longer allows, so a
  revocation also cuts established connections;
- reads the table back (`nft -j list table inet sws_filter`), compares it with the ruleset
  and reports status and drift to `POST /v1/admin/netfilter/hosts/{host}/reports`.

It always diffs against the kernel, so a restart is idempotent, and when it dies the kernel
keeps enforcing the last ruleset. `--state-dir` keeps the last ruleset it applied: compared
with the kernel it tells hand edits (drift, named in the report) from policy changes, and
when the API cannot be reached (a reboot during an outage) the agent enforces that ruleset
rather than nothing. With `--target iptables` it loads its own chains with
`iptables-restore --noflush` (and ip6tables) and also keeps there what a change revoked.

It fails closed: for a host SWS does not know the API answers 404 and the agent changes
nothing (and reports the error), and it refuses to replace a table that guards VMs with one
that guards none unless started with `--allow-empty`.
"""

from __future__ import annotations

import argparse
import ctypes
import ipaddress
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sws.netfilter import iptables, nftables
from sws.netfilter.compiler import SPEC_BY_NAME, Box, Interval, Ruleset, diff
from sws.netfilter.matching import Packet, decide
from sws_agent.api import AdminApi
from sws_agent.credentials import Credentials

log = logging.getLogger("sws_agent.netfilter")
PROTO_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "icmpv6": 58}
Sets = dict[str, set[Box]]
REVOCABLE = ("allow4", "exact4", "allow6", "exact6", "bridge4", "bridge6")


class ApplyError(RuntimeError):
    """The kernel refused a ruleset; whatever it held before is still in force."""


class UnknownHost(RuntimeError):
    """The API does not know `--host` (404): nothing is applied, the kernel is left alone."""


@dataclass
class Shell:
    """Runs netfilter commands, optionally inside a network namespace."""

    netns: str | None = None

    def run(
        self, args: Sequence[str], stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        return subprocess.run(
            [*prefix, *args], input=stdin, capture_output=True, text=True, check=False
        )

    def must(self, args: Sequence[str], stdin: str | None = None) -> str:
        done = self.run(args, stdin)
        if done.returncode != 0:
            raise ApplyError(f"{' '.join(args)}: {done.stderr.strip()}")
        return done.stdout


# Talking to nftables: libnftables in this process, or the `nft` command ----------------------

class Nft(Protocol):
    """Runs one nftables script as one transaction; returns (ok, stdout, stderr)."""

    def run(self, script: str, json_output: bool = False) -> tuple[bool, str, str]: ...


@dataclass
class CliNft:
    """The `nft` command (`nft -f -`), through `ip netns exec` when the shell has a netns."""

    shell: Shell

    def run(self, script: str, json_output: bool = False) -> tuple[bool, str, str]:
        if json_output:  # one listing command; `nft -j -f -` prints nothing for it
            done = self.shell.run(["nft", "-j", *script.split()])
        else:
            done = self.shell.run(["nft", "-f", "-"], script)
        return done.returncode == 0, done.stdout, done.stderr


CLONE_NEWNET = 0x40000000
NFT_CTX_OUTPUT_JSON = 1 << 4


class LibNft:
    """libnftables (`libnftables.so.1`, Debian's libnftables1, what `nft` itself links) through
    ctypes, with one context kept for the agent's life.

    Starting `nft` (and `ip netns exec`) costs about 6 ms per command before the kernel sees
    anything; a kept context sends the same transaction in well under a millisecond, and
    keeps nft's cache, which it revalidates against the kernel's ruleset generation on every
    command, so changes made by others (a hand edit, another `nft`) are seen. The context's
    netlink socket is opened inside `netns` (the thread enters it, opens, and comes back), so
    the agent itself stays in its own namespace and reaches the API from there.
    """

    def __init__(self, netns: str | None = None) -> None:
        self._lib = ctypes.CDLL("libnftables.so.1", use_errno=True)
        lib = self._lib
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        for name in ("nft_ctx_buffer_output", "nft_ctx_buffer_error", "nft_ctx_free"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
            getattr(lib, name).restype = ctypes.c_char_p
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_get_flags.restype = ctypes.c_uint
        lib.nft_ctx_output_get_flags.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self._ctx = _in_netns(netns, lambda: lib.nft_ctx_new(0))
        if not self._ctx:
            raise OSError("nft_ctx_new failed")
        lib.nft_ctx_buffer_output(self._ctx)
        lib.nft_ctx_buffer_error(self._ctx)
        self._flags = lib.nft_ctx_output_get_flags(self._ctx)

    def run(self, script: str, json_output: bool = False) -> tuple[bool, str, str]:
        flags = self._flags | (NFT_CTX_OUTPUT_JSON if json_output else 0)
        self._lib.nft_ctx_output_set_flags(self._ctx, flags)
        rc = self._lib.nft_run_cmd_from_buffer(self._ctx, script.encode())
        out = self._lib.nft_ctx_get_output_buffer(self._ctx) or b""
        err = self._lib.nft_ctx_get_error_buffer(self._ctx) or b""
        return rc == 0, out.decode(), err.decode()

    def close(self) -> None:
        if self._ctx:
            self._lib.nft_ctx_free(self._ctx)
            self._ctx = None


def _in_netns(netns: str | None, call: Any) -> Any:
    """Run `call` with this thread inside network namespace `netns`, then come back."""
    if netns is None:
        return call()
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {netns} failed")
            try:
                return call()
            finally:
                if libc.setns(own, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back failed")
        finally:
            os.close(target)
    finally:
        os.close(own)


def make_nft(kind: str, shell: Shell) -> Nft:
    """`lib` (libnftables), `cli` (the `nft` command) or `auto` (lib when it loads)."""
    if kind in ("lib", "auto"):
        try:
            return LibNft(shell.netns)
        except OSError as exc:
            if kind == "lib":
                raise
            log.info("libnftables not usable (%s); using the nft command", exc)
    return CliNft(shell)


# Reading nftables' JSON back into boxes ------------------------------------------------------

def _addr(value: Any) -> Interval:
    if isinstance(value, dict) and "prefix" in value:
        net = ipaddress.ip_network(f"{value['prefix']['addr']}/{value['prefix']['len']}")
        return int(net.network_address), int(net.broadcast_address)
    if isinstance(value, dict) and "range" in value:
        lo, hi = value["range"]
        return int(ipaddress.ip_address(lo)), int(ipaddress.ip_address(hi))
    address = int(ipaddress.ip_address(value))
    return address, address


def _number(value: Any, kind: str) -> int:
    if isinstance(value, int):
        return value
    text = str(value)
    if text.isdigit():
        return int(text)
    if kind == "proto":
        return PROTO_NUMBERS.get(text) or socket.getprotobyname(text)
    return socket.getservbyname(text)


def _scalar(value: Any, kind: str) -> Interval:
    if kind == "addr":
        return _addr(value)
    if isinstance(value, dict) and "range" in value:
        lo, hi = value["range"]
        return _number(lo, kind), _number(hi, kind)
    number = _number(value, kind)
    return number, number


def parse_element(name: str, raw: Any) -> Box:
    if isinstance(raw, dict) and "elem" in raw:
        raw = raw["elem"]["val"]
    kinds = SPEC_BY_NAME[name].fields
    values = raw["concat"] if isinstance(raw, dict) and "concat" in raw else [raw]
    return tuple(_scalar(v, k) for v, k in zip(values, kinds, strict=True))


@dataclass
class KernelState:
    sets: Sets = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)

    def well_formed(self) -> bool:
        return set(self.sets) == set(SPEC_BY_NAME) and self.rules == nftables.RULE_COUNTS


def parse_table(document: Mapping[str, Any]) -> KernelState:
    state = KernelState()
    for item in document.get("nftables", []):
        if "set" in item and item["set"]["name"] in SPEC_BY_NAME:
            name = item["set"]["name"]
            state.sets[name] = {parse_element(name, e) for e in item["set"].get("elem", [])}
        elif "chain" in item:
            state.rules.setdefault(item["chain"]["name"], 0)
        elif "rule" in item:
            chain = item["rule"]["chain"]
            state.rules[chain] = state.rules.get(chain, 0) + 1
    return state


# Targets ------------------------------------------------------------------------------------

class Target(Protocol):
    name: str

    def read(self) -> KernelState | None: ...
    def apply(self, ruleset: Ruleset, current: KernelState | None) -> tuple[str, Sets]: ...


@dataclass
class NftTarget:
    """nftables: whole-table transactions, or element deltas when only sets changed."""

    shell: Shell
    name: str = "nft"
    nft: Nft | None = None

    def __post_init__(self) -> None:
        if self.nft is None:
            self.nft = CliNft(self.shell)

    def _nft(self) -> Nft:
        assert self.nft is not None
        return self.nft

    def _must(self, script: str) -> None:
        ok, _, err = self._nft().run(script)
        if not ok:
            raise ApplyError(f"nft -f: {err.strip()}")

    def read(self) -> KernelState | None:
        ok, out, _ = self._nft().run(
            f"list table {nftables.FAMILY} {nftables.TABLE}", json_output=True
        )
        if not ok:
            return None
        return parse_table(json.loads(out))

    def apply(self, ruleset: Ruleset, current: KernelState | None) -> tuple[str, Sets]:
        """Returns the mode used and the elements the kernel held before."""
        if current is None or not current.well_formed():
            self._must(nftables.render(ruleset))
            return "full", current.sets if current else {}
        delta = diff(current.sets, ruleset)
        if delta.empty():
            return "unchanged", current.sets
        try:
            self._must(nftables.render_delta(delta))
            return "delta", current.sets
        except ApplyError as exc:
            log.warning("delta refused (%s); reloading the whole table", exc)
            self._must(nftables.render(ruleset))
            return "full", current.sets


@dataclass
class IptablesTarget:
    """iptables-restore --noflush into our own chains, jumped to from the top of FORWARD."""

    shell: Shell
    state_dir: Path
    name: str = "iptables"

    @property
    def _state(self) -> Path:
        return self.state_dir / "netfilter-iptables.json"

    def read(self) -> KernelState | None:
        if not self._state.exists():
            return None
        ruleset = Ruleset.from_json(json.loads(self._state.read_text()))
        return KernelState(sets={n: set(ruleset.elements(n)) for n in SPEC_BY_NAME})

    def apply(self, ruleset: Ruleset, current: KernelState | None) -> tuple[str, Sets]:
        for family, tool in ((4, "iptables"), (6, "ip6tables")):
            self.shell.must([f"{tool}-restore", "--noflush"], iptables.render(ruleset, family))
            jump = ["FORWARD", *iptables.JUMP]
            if self.shell.run([tool, "-C", *jump]).returncode != 0:
                self.shell.must([tool, "-I", "FORWARD", "1", *iptables.JUMP])
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._state.write_text(json.dumps(ruleset.to_json()))
        return "full", current.sets if current else {}

    def drift(self, ruleset: Ruleset) -> dict[str, Any]:
        """Lines of our chains that differ from the rendered ruleset."""
        found: dict[str, Any] = {}
        for family, tool in ((4, "iptables"), (6, "ip6tables")):
            want = [x for x in iptables.render(ruleset, family).splitlines() if x.startswith("-A")]
            chains = (iptables.CHAIN, iptables.EGRESS, iptables.INGRESS)
            have = [
                line for chain in chains
                for line in self.shell.run([tool, "-S", chain]).stdout.splitlines()
                if line.startswith("-A")
            ]
            jump = self.shell.run([tool, "-C", "FORWARD", *iptables.JUMP]).returncode == 0
            if want != have or not jump:
                found[tool] = {
                    "missing": _named(set(want) - set(have)),
                    "unexpected": _named(set(have) - set(want)), "jump": jump,
                }
        return found


def _named(lines: set[str]) -> list[str]:
    shown = sorted(lines)[:NAMED]
    return shown + ([f"... and {len(lines) - NAMED} more"] if len(lines) > NAMED else [])


# Conntrack ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Flow:
    proto: int
    src: str
    dst: str
    sport: int | None
    dport: int | None


def parse_conntrack(text: str) -> list[Flow]:
    flows = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2 or not words[1].isdigit():
            continue
        fields: dict[str, str] = {}
        for word in words:
            key, _, value = word.partition("=")
            if value and key not in fields:
                fields[key] = value
        if "src" in fields and "dst" in fields:
            flows.append(Flow(
                proto=int(words[1]), src=fields["src"], dst=fields["dst"],
                sport=_port(fields.get("sport")), dport=_port(fields.get("dport")),
            ))
    return flows


def _port(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def revoked_flows(flows: Iterable[Flow], removed: Sets, ruleset: Ruleset) -> list[Flow]:
    """Tracked flows that an element removed just now allowed and the new ruleset forbids."""
    boxes = [b for name in REVOCABLE for b in removed.get(name, ())]
    hits = []
    for flow in flows:
        key = (_int(flow.src), _int(flow.dst), flow.proto, flow.dport or 0)
        if any(all(lo <= v <= hi for (lo, hi), v in zip(b, key, strict=True)) for b in boxes):
            packet = Packet(flow.src, flow.dst, flow.proto, flow.dport or 0)
            if decide(ruleset, packet) == "drop":
                hits.append(flow)
    return hits


def _int(address: str) -> int:
    return int(ipaddress.ip_address(address))


def cut(shell: Shell, removed: Sets, ruleset: Ruleset) -> int:
    """Delete the conntrack entries of revoked connections; returns how many."""
    if not any(removed.get(n) for n in REVOCABLE):
        return 0
    flows = []
    for family in ("ipv4", "ipv6"):
        flows += parse_conntrack(shell.run(["conntrack", "-L", "-f", family]).stdout)
    victims = revoked_flows(flows, removed, ruleset)
    for flow in victims:
        args = ["conntrack", "-D", "-p", str(flow.proto), "-s", flow.src, "-d", flow.dst]
        if flow.sport is not None and flow.dport is not None:
            args += ["--sport", str(flow.sport), "--dport", str(flow.dport)]
        shell.run(args)
    return len(victims)


# One round ----------------------------------------------------------------------------------

def verify(target: Target, ruleset: Ruleset) -> dict[str, Any]:
    """Read the kernel back: per set, how many elements are missing or unexpected."""
    if isinstance(target, IptablesTarget):
        return target.drift(ruleset)
    return drift_of(target.read(), ruleset)


def drift_of(state: KernelState | None, ruleset: Ruleset) -> dict[str, Any]:
    """How an nftables table read back differs from the ruleset, element by element."""
    if state is None:
        return {"table": "missing"}
    drift = named_differences(state.sets, ruleset)
    if state.rules != nftables.RULE_COUNTS:
        drift["chains"] = state.rules
    return drift


NAMED = 20  # elements named per set and direction; the rest are counted
DRIFT = ("missing", "unexpected")
CHANGE = ("added", "removed")


def named_differences(
    have: Mapping[str, Iterable[Box]], want: Ruleset, labels: tuple[str, str] = DRIFT
) -> dict[str, Any]:
    """Per set, the elements the kernel lacks (`missing`) and holds unasked (`unexpected`),
    in nft's own notation (`10.251.0.2 . 10.251.1.10 . tcp . 8080`). With `CHANGE` labels,
    what an apply `added` and `removed`."""
    lacking, extra = labels
    found: dict[str, Any] = {}
    for name, spec in SPEC_BY_NAME.items():
        held, wanted = set(have.get(name, ())), set(want.elements(name))
        entry = {
            label: _named({nftables.element_text(spec, box) for box in boxes})
            for label, boxes in ((lacking, wanted - held), (extra, held - wanted))
            if boxes
        }
        if entry:
            found[name] = entry
    return found


def hand_edits(state: KernelState | None, last: Ruleset | None) -> dict[str, Any]:
    """What changed in the kernel since this agent's last apply: not SWS's doing."""
    if last is None or (state is not None and not state.well_formed()):
        return {}
    return drift_of(state, last)


def held_digest(state: KernelState | None) -> str:
    """The digest of what the kernel enforces now (the same digest the API computes)."""
    if state is None:
        return ""
    sets = {name: tuple(sorted(state.sets.get(name, ()))) for name in SPEC_BY_NAME}
    return Ruleset(host="", sets=sets).digest()


def guarded_vms(state: KernelState | None) -> int:
    if state is None:
        return 0
    return sum(len(state.sets.get(name, ())) for name in ("vm4", "vm6"))


def loses_every_vm(state: KernelState | None, ruleset: Ruleset) -> bool:
    """A table that guards VMs replaced by one that guards none: a mistyped --host, an
    instance listing that came back empty. Applied only when the operator says so."""
    return guarded_vms(state) > 0 and not (ruleset.elements("vm4") or ruleset.elements("vm6"))


@dataclass
class LastApplied:
    """The last ruleset this agent applied, kept as JSON in `--state-dir`."""

    directory: Path

    @property
    def path(self) -> Path:
        return self.directory / "netfilter-last-applied.json"

    def load(self, host: str) -> Ruleset | None:
        try:
            ruleset = Ruleset.from_json(json.loads(self.path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return ruleset if ruleset.host == host else None

    def save(self, ruleset: Ruleset) -> None:
        """Written whole or not at all (rename); a state dir we cannot write is logged."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".tmp")
            partial.write_text(json.dumps(ruleset.to_json()))
            os.replace(partial, self.path)
        except OSError as exc:
            log.warning("cannot keep the last ruleset in %s: %s", self.directory, exc)


def enforce(
    target: Target, shell: Shell, ruleset: Ruleset, *, allow_empty: bool = False,
    memory: LastApplied | None = None,
) -> dict[str, Any]:
    """Apply, cut revoked connections, verify; the report body (never raises ApplyError).

    `drift` names what was found changed by hand since the last apply (`repaired`) and what
    still differs after this one (`remaining`); `changes` (what this round added and removed)
    and `conntrack_deleted` are for the agent's log. When nothing had to change, the state
    just read is the verification: no second read.
    """
    started = time.perf_counter()
    current = target.read()
    if not allow_empty and loses_every_vm(current, ruleset):
        return refused(target, current, ruleset)
    last = memory.load(ruleset.host) if memory else None
    found = hand_edits(current, last)
    try:
        mode, before = target.apply(ruleset, current)
    except ApplyError as exc:
        after = target.read()
        return _report(target, held_digest(after), ruleset, "failed",
                       _drift(found, verify(target, ruleset)), str(exc), None)
    elapsed = time.perf_counter() - started
    if memory is not None and last != ruleset:
        memory.save(ruleset)
    removed = {n: before.get(n, set()) - set(ruleset.elements(n)) for n in SPEC_BY_NAME}
    cutting = cut(shell, removed, ruleset)
    left = drift_of(current, ruleset) if mode == "unchanged" else verify(target, ruleset)
    report = _report(target, ruleset.digest(), ruleset, mode, _drift(found, left), None, elapsed)
    changes = named_differences(before, ruleset, CHANGE)
    return {**report, "changes": changes, "conntrack_deleted": cutting}


def refused(target: Target, current: KernelState | None, ruleset: Ruleset) -> dict[str, Any]:
    error = (
        f"not applied: the new ruleset for {ruleset.host} guards no VM, the kernel guards "
        f"{guarded_vms(current)} VM address(es). A mistyped --host or an empty instance "
        "listing would open the intranet; restart with --allow-empty if the host really "
        "has no VM left"
    )
    return _report(target, held_digest(current), ruleset, "refused", {}, error, None)


def _drift(found: dict[str, Any], left: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in (("repaired", found), ("remaining", left)) if v}


def _report(target: Target, digest: str, ruleset: Ruleset, mode: str, drift: dict[str, Any],
            error: str | None, seconds: float | None) -> dict[str, Any]:
    in_sync = "remaining" not in drift and not error
    return {
        "target": target.name, "digest": digest, "in_sync": in_sync,
        "elements": ruleset.size(), "mode": mode, "drift": dict(drift), "error": error,
        "apply_seconds": seconds,
    }


#: What the API stores of a report; the rest (`changes`, `conntrack_deleted`) is logged.
REPORTED = ("target", "digest", "in_sync", "elements", "mode", "drift", "error",
            "apply_seconds")


class AgentApi(Protocol):
    """What a round needs of SWS: the host's ruleset, and somewhere to report."""

    def ruleset(self, host: str) -> Ruleset: ...
    def report(self, host: str, body: Mapping[str, Any]) -> None: ...


@dataclass
class Api:
    base: str
    token: str | Credentials  # a fixed token, or credentials that renew it
    region: str | None = None

    def __post_init__(self) -> None:
        self._api = AdminApi(self.base, self.token, timeout=30.0, region=self.region)

    def ruleset(self, host: str) -> Ruleset:
        try:
            return Ruleset.from_json(
                self._api.get_json(f"/v1/admin/netfilter/hosts/{host}/ruleset"))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise UnknownHost(_problem(exc)) from None
            raise

    def report(self, host: str, body: Mapping[str, Any]) -> None:
        self._api.post_json(f"/v1/admin/netfilter/hosts/{host}/reports", dict(body))


def _problem(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read())["detail"])
    except (ValueError, KeyError, TypeError, OSError):
        return f"HTTP {error.code}"


def sync_once(
    api: AgentApi, host: str, target: Target, shell: Shell, *, allow_empty: bool = False,
    memory: LastApplied | None = None,
) -> dict[str, Any]:
    """One round. An unknown host is reported and raised, with the kernel untouched; an
    unreachable API falls back to the last applied ruleset, and raises if there is none."""
    try:
        ruleset = api.ruleset(host)
    except UnknownHost as exc:
        current = target.read()
        api.report(host, _report(target, held_digest(current), Ruleset(host=host), "failed",
                                 {}, f"SWS does not know this host: {exc}", None))
        raise
    except OSError as exc:
        last = memory.load(host) if memory is not None else None
        if last is None:
            raise
        report = enforce(target, shell, last, allow_empty=allow_empty, memory=memory)
        return {**report, "error": report["error"] or f"API unreachable ({exc}); enforced "
                "the last applied ruleset from --state-dir"}
    report = enforce(target, shell, ruleset, allow_empty=allow_empty, memory=memory)
    api.report(host, {k: report[k] for k in REPORTED})
    return report


def summary(host: str, report: Mapping[str, Any]) -> str:
    """One log line: mode, what changed (named), drift, connections cut, error."""
    parts = [f"{host}: {report['mode']}, {report['elements']} elements"]
    if report.get("changes"):
        parts.append(f"changed {json.dumps(report['changes'], sort_keys=True)}")
    if report["drift"]:
        parts.append(f"drift {json.dumps(report['drift'], sort_keys=True)}")
    if report.get("conntrack_deleted"):
        parts.append(f"cut {report['conntrack_deleted']} connection(s)")
    if report["error"]:
        parts.append(f"error: {report['error']}")
    return "; ".join(parts)


def make_target(name: str, shell: Shell, state_dir: Path, nft: str = "auto") -> Target:
    if name == "iptables":
        return IptablesTarget(shell=shell, state_dir=state_dir)
    return NftTarget(shell=shell, nft=make_nft(nft, shell))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    credentials = Credentials.from_env(args.api, args.token)
    if not (credentials.token or credentials.renewable):
        parser.error("no credentials: give --token, or set SWS_AGENT_TOKEN, or SWS_AGENT_USER "
                     "and SWS_AGENT_PASSWORD")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    shell = Shell(netns=args.netns)
    target = make_target(args.target, shell, Path(args.state_dir), args.nft)
    api = Api(base=args.api, token=credentials, region=args.region)
    memory = LastApplied(Path(args.state_dir))
    while True:
        try:
            report = sync_once(api, args.host, target, shell, allow_empty=args.allow_empty,
                               memory=memory)
            log.info("%s", summary(args.host, report))
            failed = report["error"] is not None
        except Exception as exc:  # keep enforcing what the kernel has; retry next round
            log.error("round failed, kernel rules left as they are: %s", exc)
            failed = True
        if args.once:
            return 1 if failed else 0
        time.sleep(args.interval)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sws-agent netfilter", description=__doc__.split("\n")[0])
    parser.add_argument("--api", required=True, help="SWS API base URL")
    parser.add_argument("--host", required=True,
                        help="this compute node's name as Nova knows it (the host of its "
                             "servers, `openstack hypervisor list`); unknown names get 404")
    parser.add_argument("--token", default=None,
                        help="an admin token; better $SWS_AGENT_TOKEN (out of the process "
                             "list), or $SWS_AGENT_USER and $SWS_AGENT_PASSWORD, with which the "
                             "agent renews its own token")
    parser.add_argument("--target", choices=("nft", "iptables"), default="nft")
    parser.add_argument("--nft", choices=("auto", "lib", "cli"), default="auto",
                        help="libnftables in-process (auto: when it loads) or the nft command")
    parser.add_argument("--region", default=None,
                        help="the SWS region of this node (sent as X-SWS-Region); default: "
                             "SWS's first region")
    parser.add_argument("--interval", type=float, default=30.0,
                        help="seconds between rounds; keep SWS_NETFILTER_AGENT_INTERVAL_SECONDS "
                             "equal: SWS calls an agent stale after SWS_AGENT_STALE_INTERVALS "
                             "(3) silent intervals")
    parser.add_argument("--once", action="store_true",
                        help="one round, then exit (1 if it failed or was refused)")
    parser.add_argument("--netns", default=None, help="run the commands in this namespace")
    parser.add_argument("--state-dir", default="/var/lib/sws-agent",
                        help="keeps the last applied ruleset (drift vs changes; enforced when "
                             "the API is unreachable)")
    parser.add_argument("--allow-empty", action="store_true",
                        help="apply a ruleset that guards no VM even over one that guards some")
    return parser


if __name__ == "__main__":
    sys.exit(main())
