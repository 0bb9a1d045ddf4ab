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

The agent keeps no state of its own for nftables: it always diffs against the kernel, so a
restart is idempotent, and when it dies the kernel keeps enforcing the last ruleset. With
`--target iptables` it loads its own chains with `iptables-restore --noflush` (and ip6tables)
and keeps the last ruleset in `--state-dir` to know what a change revoked.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sws.netfilter import iptables, nftables
from sws.netfilter.compiler import SPEC_BY_NAME, Box, Interval, Ruleset, diff
from sws.netfilter.matching import Packet, decide

log = logging.getLogger("sws_agent.netfilter")
PROTO_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "icmpv6": 58}
Sets = dict[str, set[Box]]
REVOCABLE = ("allow4", "exact4", "allow6", "exact6", "bridge4", "bridge6")


class ApplyError(RuntimeError):
    """The kernel refused a ruleset; whatever it held before is still in force."""


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

    def read(self) -> KernelState | None:
        done = self.shell.run(["nft", "-j", "list", "table", nftables.FAMILY, nftables.TABLE])
        if done.returncode != 0:
            return None
        return parse_table(json.loads(done.stdout))

    def apply(self, ruleset: Ruleset, current: KernelState | None) -> tuple[str, Sets]:
        """Returns the mode used and the elements the kernel held before."""
        if current is None or not current.well_formed():
            self.shell.must(["nft", "-f", "-"], nftables.render(ruleset))
            return "full", current.sets if current else {}
        delta = diff(current.sets, ruleset)
        if delta.empty():
            return "unchanged", current.sets
        try:
            self.shell.must(["nft", "-f", "-"], nftables.render_delta(delta))
            return "delta", current.sets
        except ApplyError as exc:
            log.warning("delta refused (%s); reloading the whole table", exc)
            self.shell.must(["nft", "-f", "-"], nftables.render(ruleset))
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
                    "missing": len(set(want) - set(have)),
                    "unexpected": len(set(have) - set(want)), "jump": jump,
                }
        return found


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
    state = target.read()
    if state is None:
        return {"table": "missing"}
    drift: dict[str, Any] = {}
    for name in SPEC_BY_NAME:
        have, want = state.sets.get(name, set()), set(ruleset.elements(name))
        if have != want:
            drift[name] = {"missing": len(want - have), "unexpected": len(have - want)}
    if state.rules != nftables.RULE_COUNTS:
        drift["chains"] = state.rules
    return drift


def enforce(target: Target, shell: Shell, ruleset: Ruleset) -> dict[str, Any]:
    """Apply, cut revoked connections, verify; the report body (never raises ApplyError)."""
    started = time.perf_counter()
    try:
        mode, before = target.apply(ruleset, target.read())
    except ApplyError as exc:
        return _report(target, ruleset, "failed", verify(target, ruleset), str(exc), None)
    elapsed = time.perf_counter() - started
    removed = {n: before.get(n, set()) - set(ruleset.elements(n)) for n in SPEC_BY_NAME}
    cutting = cut(shell, removed, ruleset)
    drift = verify(target, ruleset)
    report = _report(target, ruleset, mode, drift, None, elapsed)
    report["drift"]["conntrack_deleted"] = cutting
    return report


def _report(target: Target, ruleset: Ruleset, mode: str, drift: dict[str, Any],
            error: str | None, seconds: float | None) -> dict[str, Any]:
    return {
        "target": target.name, "digest": ruleset.digest(), "in_sync": not drift and not error,
        "elements": ruleset.size(), "mode": mode, "drift": dict(drift), "error": error,
        "apply_seconds": seconds,
    }


@dataclass
class Api:
    base: str
    token: str
    region: str | None = None

    def _request(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if self.region:
            headers["X-SWS-Region"] = self.region
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(self.base.rstrip("/") + path, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def ruleset(self, host: str) -> Ruleset:
        return Ruleset.from_json(self._request(f"/v1/admin/netfilter/hosts/{host}/ruleset"))

    def report(self, host: str, body: Mapping[str, Any]) -> None:
        self._request(f"/v1/admin/netfilter/hosts/{host}/reports", body)


def sync_once(api: Api, host: str, target: Target, shell: Shell) -> dict[str, Any]:
    report = enforce(target, shell, api.ruleset(host))
    api.report(host, report)
    return report


def make_target(name: str, shell: Shell, state_dir: Path) -> Target:
    if name == "iptables":
        return IptablesTarget(shell=shell, state_dir=state_dir)
    return NftTarget(shell=shell)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    shell = Shell(netns=args.netns)
    target = make_target(args.target, shell, Path(args.state_dir))
    api = Api(base=args.api, token=args.token, region=args.region)
    while True:
        try:
            report = sync_once(api, args.host, target, shell)
            log.info("%s: %s, %d elements, drift %s", args.host, report["mode"],
                     report["elements"], report["drift"])
        except Exception as exc:  # keep enforcing what the kernel has; retry next round
            log.error("round failed, kernel rules left as they are: %s", exc)
            if args.once:
                return 1
        if args.once:
            return 0
        time.sleep(args.interval)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sws-agent netfilter", description=__doc__.split("\n")[0])
    parser.add_argument("--api", required=True, help="SWS API base URL")
    parser.add_argument("--host", required=True, help="this compute node's hypervisor name")
    parser.add_argument("--token", required=True, help="a token with the admin role")
    parser.add_argument("--target", choices=("nft", "iptables"), default="nft")
    parser.add_argument("--region", default=None)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between rounds")
    parser.add_argument("--once", action="store_true", help="one round, then exit")
    parser.add_argument("--netns", default=None, help="run the commands in this namespace")
    parser.add_argument("--state-dir", default="/var/lib/sws-agent")
    return parser


if __name__ == "__main__":
    sys.exit(main())
