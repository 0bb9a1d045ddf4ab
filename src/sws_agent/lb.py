"""`sws-agent lb`: keeps the HAProxy of one LB node in step with the desired state in SWS.

    sws-agent lb --api URL --token TOKEN --node NAME [--run-dir DIR] [--bind ADDR ...]
                 [--http-port PORT] [--address-map FILE]

HAProxy 2.6 runs in master-worker mode as a daemon, so it outlives the agent. At start the
agent renders the whole configuration (`sws.loadbalancer.renderer`), checks it with
`haproxy -c`, and starts HAProxy, or, when a master is already running, reloads it hitlessly
(listening sockets pass from the old worker to the new one; the old worker finishes its
connections). From then on it long-polls SWS for new state versions and applies each one:

- through the runtime API, without a reload, whenever it can: `add map`/`del map`/`set map`
  on hosts.map (L7, by Host header) and ports.map (L4, by destination port); `add server`,
  `enable health`, `enable server` into the LB's backend or into a pre-declared spare backend
  of the same shape; `set server ... weight|state`; `disable server` + `shutdown sessions` +
  `del server` to remove one;
- with a hitless reload (`reload` on the master CLI, like USR2) when it cannot: no spare of
  the new LB's shape is left, or a backend-level setting (algorithm, health-check kind, path,
  codes, check timeout) or a server's address, backup flag or check timing changed.

A plan is either all runtime commands or one reload; if a runtime command fails the agent
falls back to a reload, so HAProxy always converges and never holds half a change. Every half
second it reads `show stat` once and reports each member's health (up, down, maint), which is
also the node's heartbeat for DNS, and each LB's bytes out since the last report.

`--address-map` (JSON: {"10.0.0.5:80": "127.0.0.1:18001"}) rewrites member addresses before
they reach HAProxy. It exists for tests and demos, where instances of the simulated region are
stood in for by local processes; production nodes route to the instances' fixed IPs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from sws.loadbalancer.model import DesiredState, LoadBalancer, Member
from sws.loadbalancer.renderer import (
    Backend,
    Rendered,
    RenderOptions,
    render,
    server_args,
    server_name,
    wanted_hosts,
    wanted_ports,
)

log = logging.getLogger("sws_agent.lb")
HAPROXY = os.environ.get("SWS_HAPROXY", "/usr/sbin/haproxy")
OK_REPLIES = {"", "New server registered.", "Server deleted."}


class AgentError(Exception):
    """HAProxy refused a configuration or a command."""


# ---- talking to HAProxy -------------------------------------------------------------------


def unix_command(path: Path, command: str, timeout: float = 5.0) -> str:
    """One command on a HAProxy CLI socket (runtime API or master CLI); returns the reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


@dataclass(frozen=True, slots=True)
class Proc:
    """`show proc` on the master CLI: the master's reload counter and the workers' pids."""

    master_pid: int
    reloads: int
    failed: int
    workers: tuple[int, ...]


def parse_show_proc(text: str) -> Proc:
    master, reloads, failed, workers = 0, 0, 0, []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or not fields[0].isdigit():
            continue
        if fields[1] == "master":
            master, reloads = int(fields[0]), int(fields[2])
            if "[failed:" in line:
                failed = int(line.split("[failed:")[1].split("]")[0])
        elif fields[1] == "worker":
            workers.append(int(fields[0]))
    return Proc(master, reloads, failed, tuple(workers))


def parse_show_stat(text: str) -> dict[str, dict[str, str]]:
    """backend -> server -> status, from `show stat` CSV (servers only)."""
    out: dict[str, dict[str, str]] = {}
    lines = text.splitlines()
    if not lines:
        return out
    header = lines[0].lstrip("# ").split(",")
    ix_px, ix_sv, ix_st = header.index("pxname"), header.index("svname"), header.index("status")
    for line in lines[1:]:
        cells = line.split(",")
        if len(cells) <= ix_st or cells[ix_sv] in ("FRONTEND", "BACKEND"):
            continue
        out.setdefault(cells[ix_px], {})[cells[ix_sv]] = cells[ix_st]
    return out


def parse_backend_bytes(text: str) -> dict[str, int]:
    """backend -> bytes sent to clients (`bout` of its BACKEND row), from `show stat` CSV."""
    lines = text.splitlines()
    if not lines:
        return {}
    header = lines[0].lstrip("# ").split(",")
    ix_px, ix_sv, ix_out = header.index("pxname"), header.index("svname"), header.index("bout")
    out: dict[str, int] = {}
    for line in lines[1:]:
        cells = line.split(",")
        if len(cells) > ix_out and cells[ix_sv] == "BACKEND" and cells[ix_out].isdigit():
            out[cells[ix_px]] = int(cells[ix_out])
    return out


def health_of(status: str) -> str:
    """HAProxy's server status as SWS health: UP 1/2 (going down) is still up, and so on."""
    word = status.split()[0] if status else ""
    if word.startswith("MAINT") or word == "DRAIN":
        return "maint"
    if word in ("UP", "no", "NOLB"):
        return "up"
    return "down"


@dataclass
class HAProxy:
    """One master-worker HAProxy, its files and its two sockets."""

    run_dir: Path
    binary: str = HAPROXY

    @property
    def config(self) -> Path:
        return self.run_dir / "haproxy.cfg"

    @property
    def master_socket(self) -> Path:
        return self.run_dir / "master.sock"

    @property
    def admin_socket(self) -> Path:
        return self.run_dir / "admin.sock"

    def runtime(self, command: str) -> str:
        return unix_command(self.admin_socket, command)

    def master(self, command: str) -> str:
        # The master CLI keeps a connection open until told to quit.
        return unix_command(self.master_socket, f"{command}\nquit")

    def proc(self) -> Proc:
        return parse_show_proc(self.master("show proc"))

    def running(self) -> bool:
        try:
            return self.proc().master_pid > 0
        except OSError:
            return False

    def check(self, path: Path) -> None:
        result = subprocess.run(
            [self.binary, "-c", "-q", "-f", str(path)], capture_output=True, text=True,
            check=False,
        )
        if result.returncode != 0:
            raise AgentError(f"haproxy -c refused the configuration: {result.stderr.strip()}")

    def start(self) -> None:
        command = [self.binary, "-W", "-D", "-S", f"{self.master_socket},mode,600",
                   "-f", str(self.config)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise AgentError(f"haproxy did not start: {result.stderr.strip()}")
        # Ready when the worker answers its runtime API, not only when the master lists it:
        # otherwise the first change pays for the worker's start (the bench's one outlier).
        self._wait_ready(lambda: self.running() and bool(self.proc().workers)
                         and "Pid:" in self.runtime("show info"))

    def reload(self) -> None:
        """Hitless: the master re-executes; the new worker takes the listening sockets."""
        before = self.proc()
        with contextlib.suppress(OSError):  # the master closes its CLI as it re-executes
            self.master("reload")
        self._wait_ready(lambda: self._reloaded(before))

    def _reloaded(self, before: Proc) -> bool:
        try:
            now = self.proc()
        except OSError:
            return False
        if now.failed > before.failed:
            raise AgentError("haproxy failed to load the new configuration")
        if now.reloads <= before.reloads or not now.workers:
            return False
        newest = max(now.workers)
        info = self.runtime("show info")
        return f"Pid: {newest}" in info

    def _wait_ready(self, ready: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.01)
        raise AgentError("haproxy did not become ready in time")

    def stop(self) -> None:
        """Stops the master and its workers (tests and `--stop`); agents never call it."""
        try:
            pid = self.proc().master_pid
        except OSError:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    with contextlib.suppress(ChildProcessError):  # reap it if it is our zombie child
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(") ")[1][:1] != "Z"


# ---- what runs, and how to get from there to the desired state ----------------------------


@dataclass
class Live:
    """What the running worker holds, as far as the agent has changed it."""

    backends: dict[str, Backend]  # name -> backend (servers as last applied)
    hosts: dict[str, str]
    ports: dict[int, str]
    version: int = -1

    @classmethod
    def from_render(cls, rendered: Rendered, version: int) -> Live:
        return cls({b.name: b for b in rendered.backends}, dict(rendered.hosts),
                   {int(k): v for k, v in rendered.ports.items()}, version)

    def backend_of(self, lb_id: str) -> Backend | None:
        for backend in self.backends.values():
            if backend.lb_id == lb_id:
                return backend
        return None

    def free_spare(self, lb: LoadBalancer) -> Backend | None:
        for name in sorted(self.backends, key=_spare_order):
            backend = self.backends[name]
            if backend.lb_id is None and not backend.members and backend.shape == lb.shape:
                return backend
        return None


def _spare_order(name: str) -> tuple[int, str]:
    return (0 if name.startswith("spare_") else 1, name)


@dataclass
class Plan:
    """Runtime commands in order, or a reload; `backends` is the live state afterwards."""

    commands: list[str] = field(default_factory=list)
    reload_reason: str | None = None
    backends: dict[str, Backend] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)
    ports: dict[int, str] = field(default_factory=dict)


def plan(live: Live, state: DesiredState, maps: tuple[Path, Path]) -> Plan:
    """The runtime commands that take `live` to `state`, or the reason a reload is needed."""
    hosts_map, ports_map = maps
    out = Plan(backends=dict(live.backends))
    wanted = {lb.id: lb for lb in state.loadbalancers}
    removals: list[str] = []
    for backend in live.backends.values():
        if backend.lb_id is not None and backend.lb_id not in wanted:
            for member in backend.members:
                removals += _del_server(f"{backend.name}/{server_name(member)}")
            out.backends[backend.name] = replace(backend, members=(), lb_id=None)
    targets: dict[str, str] = {}
    for lb in state.loadbalancers:
        reason = _plan_lb(out, live, lb, targets)
        if reason:
            return Plan(reload_reason=reason)
    out.hosts, out.ports = wanted_hosts(state, targets), wanted_ports(state, targets)
    out.commands += _map_commands(hosts_map, live.hosts, out.hosts)
    out.commands += _map_commands(ports_map, live.ports, out.ports)
    out.commands += removals
    return out


def _plan_lb(out: Plan, live: Live, lb: LoadBalancer, targets: dict[str, str]) -> str | None:
    backend = live.backend_of(lb.id)
    if backend is None:
        backend = live.free_spare(lb)
        if backend is None:
            return f"no spare backend of shape {lb.shape} for load balancer {lb.id}"
        backend = replace(backend, lb_id=lb.id)
        live.backends[backend.name] = replace(backend, members=())  # reserve it
    elif backend.shape != lb.shape:
        return f"load balancer {lb.id} changed algorithm or health check"
    commands = _server_commands(backend, lb)
    if commands is None:
        return f"a member of {lb.id} changed address, backup flag or check timing"
    out.commands += commands
    out.backends[backend.name] = replace(backend, members=lb.members, lb_id=lb.id,
                                         monitor=lb.monitor)
    targets[lb.id] = backend.name
    return None


def _server_commands(backend: Backend, lb: LoadBalancer) -> list[str] | None:
    have = {m.id: m for m in backend.members}
    want = {m.id: m for m in lb.members}
    commands: list[str] = []
    for member in lb.members:
        old = have.get(member.id)
        if old is None:
            commands += _add_server(backend.name, member, lb)
        elif server_args(old, backend.monitor) != server_args(member, lb.monitor):
            if _only_weight_changed(old, member, backend, lb):
                commands.append(f"set server {backend.name}/{server_name(member)} "
                                f"weight {member.weight}")
            else:
                return None
        if old is not None and old.admin_state != member.admin_state:
            state = "maint" if member.admin_state == "maint" else "ready"
            commands.append(f"set server {backend.name}/{server_name(member)} state {state}")
    for member_id, old in have.items():
        if member_id not in want:
            commands += _del_server(f"{backend.name}/{server_name(old)}")
    return commands


def _del_server(name: str) -> list[str]:
    return [f"disable server {name}", f"shutdown sessions server {name}", f"del server {name}"]


def _only_weight_changed(old: Member, new: Member, backend: Backend, lb: LoadBalancer) -> bool:
    return server_args(replace(old, weight=new.weight), backend.monitor) == server_args(
        new, lb.monitor
    )


def _add_server(backend: str, member: Member, lb: LoadBalancer) -> list[str]:
    name = f"{backend}/{server_name(member)}"
    commands = [f"add server {name} {server_args(member, lb.monitor)}", f"enable health {name}"]
    if member.admin_state != "maint":
        commands.append(f"enable server {name}")
    return commands


def _map_commands(
    path: Path, have: dict[str, str] | dict[int, str], want: dict[str, str] | dict[int, str]
) -> list[str]:
    commands = []
    for key, value in want.items():
        if key not in have:
            commands.append(f"add map {path} {key} {value}")
        elif have[key] != value:  # type: ignore[index]
            commands.append(f"set map {path} {key} {value}")
    commands += [f"del map {path} {key}" for key in have if key not in want]
    return commands


# ---- where the desired state comes from ---------------------------------------------------


class StateSource(Protocol):
    def fetch(self, after: int, wait: float) -> DesiredState: ...
    def report(
        self, version: int, members: dict[str, str], traffic: dict[str, int] | None = None
    ) -> None: ...


@dataclass
class HttpSource:
    """The SWS API: a long poll on the desired state, and health reports (admin token)."""

    api: str
    token: str
    node: str
    timeout: float = 10.0

    def fetch(self, after: int, wait: float) -> DesiredState:
        url = (f"{self.api.rstrip('/')}/v1/admin/lb-nodes/{self.node}/desired-state"
               f"?after={after}&wait={wait}")
        with urllib.request.urlopen(self._request(url), timeout=wait + self.timeout) as reply:
            return DesiredState.from_json(json.load(reply))

    def report(
        self, version: int, members: dict[str, str], traffic: dict[str, int] | None = None
    ) -> None:
        url = f"{self.api.rstrip('/')}/v1/admin/lb-nodes/{self.node}/report"
        payload = {"version": version, "members": members, "traffic": traffic or {}}
        body = json.dumps(payload).encode()
        request = self._request(url, body)
        with urllib.request.urlopen(request, timeout=self.timeout):
            pass

    def _request(self, url: str, body: bytes | None = None) -> urllib.request.Request:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return urllib.request.Request(url, data=body, headers=headers,
                                      method="POST" if body is not None else "GET")


@dataclass
class MemorySource:
    """An in-process source for tests and benchmarks: `publish` a state, agents pick it up."""

    state: DesiredState
    reports: list[dict[str, str]] = field(default_factory=list)
    traffic: list[dict[str, int]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def publish(self, state: DesiredState) -> None:
        with self._changed:
            self.state = state
            self._changed.notify_all()

    def fetch(self, after: int, wait: float) -> DesiredState:
        with self._changed:
            self._changed.wait_for(lambda: self.state.version > after, timeout=wait)
            return self.state

    def report(
        self, version: int, members: dict[str, str], traffic: dict[str, int] | None = None
    ) -> None:
        self.reports.append(members)
        self.traffic.append(dict(traffic or {}))


# ---- the agent ----------------------------------------------------------------------------


def load_address_map(path: Path | None) -> dict[str, str]:
    return {} if path is None else dict(json.loads(path.read_text()))


def translate(state: DesiredState, address_map: dict[str, str]) -> DesiredState:
    """Member addresses as this node reaches them (see `--address-map`)."""
    if not address_map:
        return state
    return replace(state, loadbalancers=tuple(
        replace(lb, members=tuple(_translated(m, address_map) for m in lb.members))
        for lb in state.loadbalancers
    ))


def _translated(member: Member, address_map: dict[str, str]) -> Member:
    target = address_map.get(f"{member.address}:{member.port}")
    if target is None:
        return member
    host, _, port = target.rpartition(":")
    return replace(member, address=host, port=int(port))


@dataclass
class LBAgent:
    """Renders, starts or reloads HAProxy, then applies each new state version live."""

    opts: RenderOptions
    haproxy: HAProxy
    address_map: dict[str, str] = field(default_factory=dict)
    live: Live | None = None
    reloads: int = 0
    runtime_applies: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    listeners: tuple[int, int, int] = (0, 0, 0)  # http port and L4 range HAProxy binds
    rendered: Rendered | None = None  # what the files on disk hold
    worker: int = 0  # the worker the live state was applied to
    traffic: Traffic = field(default_factory=lambda: Traffic())

    @classmethod
    def create(cls, opts: RenderOptions, address_map: dict[str, str] | None = None,
               binary: str = HAPROXY) -> LBAgent:
        opts.run_dir.mkdir(parents=True, exist_ok=True)
        return cls(opts, HAProxy(opts.run_dir, binary), address_map or {})

    @property
    def maps(self) -> tuple[Path, Path]:
        return (self.opts.run_dir / "hosts.map", self.opts.run_dir / "ports.map")

    def start(self, state: DesiredState) -> None:
        """Full render and check; start HAProxy, or reload the one already running."""
        with self.lock:
            self._write_and_load(translate(state, self.address_map), start=True)

    def apply(self, state: DesiredState) -> str:
        """Take HAProxy to `state`: 'unchanged', 'runtime' or 'reload'."""
        with self.lock:
            state = translate(state, self.address_map)
            if self.live is None:
                self._write_and_load(state, start=True)
                return "reload"
            self._notice_outside_reload()
            if state.version == self.live.version:
                return "unchanged"
            return self._apply(state)

    def _notice_outside_reload(self) -> None:
        """Someone else reloaded (USR2, systemd): the worker runs the files last written."""
        workers = self.haproxy.proc().workers
        if workers and max(workers) != self.worker and self.rendered is not None:
            assert self.live is not None
            self.live = Live.from_render(self.rendered, self.live.version)
            self.worker = max(workers)

    def _apply(self, state: DesiredState) -> str:
        assert self.live is not None
        if (state.http_port, state.port_min, state.port_max) != self.listeners:
            self._write_and_load(state)
            return "reload"
        trial = Live(dict(self.live.backends), dict(self.live.hosts), dict(self.live.ports))
        steps = plan(trial, state, self.maps)
        if steps.reload_reason is not None:
            log.info("reload: %s", steps.reload_reason)
            self._write_and_load(state)
            return "reload"
        try:
            self._run(steps.commands)
        except (AgentError, OSError) as exc:
            log.warning("runtime change failed (%s); reloading instead", exc)
            self._write_and_load(state)
            return "reload"
        if _freed(self.live, steps.backends):
            # A freed backend may serve another LB next: credit its last bytes to the old one.
            self._count_traffic()
        self.live = Live(steps.backends, steps.hosts, steps.ports, state.version)
        self.runtime_applies += 1
        self._write_files(render(state, self.opts), self.haproxy.config)
        return "runtime"

    def _write_files(self, rendered: Rendered, config: Path) -> None:
        """Keep the files equal to the desired state, so any later reload loads it."""
        for path, text in ((config, rendered.config), (self.maps[0], rendered.hosts_map),
                           (self.maps[1], rendered.ports_map)):
            staged = path.with_name(path.name + ".tmp")
            staged.write_text(text)
            staged.replace(path)
        self.rendered = rendered

    def _run(self, commands: Sequence[str]) -> None:
        for command in commands:
            reply = self.haproxy.runtime(command).strip()
            if reply not in OK_REPLIES:
                raise AgentError(f"{command!r}: {reply}")

    def _write_and_load(self, state: DesiredState, start: bool = False) -> None:
        rendered = render(state, self.opts)
        staged = self.opts.run_dir / "haproxy.cfg.new"
        self._write_files(rendered, staged)  # maps: the running worker never rereads them
        self.haproxy.check(staged)
        running = self.haproxy.running()
        if running:
            self._save_server_state()
            with contextlib.suppress(OSError, AgentError, ValueError):
                self._count_traffic()  # the new worker's counters start at zero
        else:
            (self.opts.run_dir / "server-state").touch()
        staged.replace(self.haproxy.config)
        if running:
            self.haproxy.reload()
            self.reloads += 1
        elif start:
            self.haproxy.start()
        else:
            raise AgentError("haproxy is not running")
        self.live = Live.from_render(rendered, state.version)
        self.worker = max(self.haproxy.proc().workers)
        self.listeners = (state.http_port, state.port_min, state.port_max)

    def _save_server_state(self) -> None:
        try:
            text = self.haproxy.runtime("show servers state")
        except OSError:
            return
        (self.opts.run_dir / "server-state").write_text(text)

    def _count_traffic(self, text: str | None = None) -> None:
        """Add each LB's bytes since the last count to `traffic.pending` (lock held)."""
        if self.live is None:
            return
        if text is None:
            text = self.haproxy.runtime("show stat")
        owners = {name: b.lb_id for name, b in self.live.backends.items()}
        self.traffic.count(self.worker, owners, parse_backend_bytes(text))

    def take_report(self) -> tuple[dict[str, int], dict[str, str]]:
        """The bytes per LB counted so far, handed over (give them back if sending fails), and
        member health, both from one `show stat`."""
        with self.lock:
            text = self.haproxy.runtime("show stat")
            self._count_traffic(text)
            health = self.member_health(text)
            return self.traffic.take(), health

    def member_health(self, text: str | None = None) -> dict[str, str]:
        """member id -> up/down/maint, from the running worker's `show stat`."""
        stats = parse_show_stat(text if text is not None else self.haproxy.runtime("show stat"))
        out: dict[str, str] = {}
        for servers in stats.values():
            for name, status in servers.items():
                if name.startswith("m_"):
                    out[name[2:]] = health_of(status)
        return out


@dataclass
class Traffic:
    """Bytes each LB sent to clients, from HAProxy's per-backend `bout` counters.

    The counters are cumulative per worker and start at zero in a new worker (a reload), and
    a spare backend may serve another LB after its first is deleted. So the agent keeps, per
    backend, the value it last counted and the worker it came from, credits the difference to
    the LB that owned the backend, counts once more just before a reload or after freeing a
    backend, and hands the sums over with its health reports.
    """

    base: dict[str, int] = field(default_factory=dict)
    worker: int = 0
    pending: dict[str, int] = field(default_factory=dict)

    def count(self, worker: int, owners: dict[str, str | None], bout: dict[str, int]) -> None:
        if worker != self.worker:
            self.base, self.worker = {}, worker
        for name, now in bout.items():
            before = self.base.get(name, 0)
            delta = now - before if now >= before else now  # restarted counter: all new
            self.base[name] = now
            owner = owners.get(name)
            if owner is not None and delta > 0:
                self.pending[owner] = self.pending.get(owner, 0) + delta

    def take(self) -> dict[str, int]:
        taken, self.pending = self.pending, {}
        return taken

    def give_back(self, taken: dict[str, int]) -> None:
        for lb_id, amount in taken.items():
            self.pending[lb_id] = self.pending.get(lb_id, 0) + amount


def _freed(live: Live, after: dict[str, Backend]) -> bool:
    return any(b.lb_id is not None and after[name].lb_id != b.lb_id
               for name, b in live.backends.items() if name in after)


# ---- the loops ----------------------------------------------------------------------------


@dataclass
class Runner:
    """The agent's two loops: apply new versions as they come; report health periodically."""

    agent: LBAgent
    source: StateSource
    poll_wait: float = 20.0
    report_interval: float = 0.5
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        self._start()
        reporter = threading.Thread(target=self._report_loop, name="lb-report", daemon=True)
        reporter.start()
        self._apply_loop()
        reporter.join(timeout=5)

    def _start(self) -> None:
        while not self.stopping.is_set():
            try:
                self.agent.start(self.source.fetch(after=-1, wait=0))
                return
            except (OSError, AgentError, ValueError) as exc:
                log.warning("start failed: %s; retrying", exc)
                self.stopping.wait(2)

    def _apply_loop(self) -> None:
        while not self.stopping.is_set():
            live = self.agent.live
            after = live.version if live is not None else -1
            try:
                state = self.source.fetch(after=after, wait=self.poll_wait)
                self.agent.apply(state)
            except (OSError, AgentError, ValueError, urllib.error.URLError) as exc:
                log.warning("apply failed: %s", exc)
                self.stopping.wait(1)

    def _report_loop(self) -> None:
        while not self.stopping.wait(self.report_interval):
            self.report_once()

    def report_once(self) -> None:
        """Member health (the heartbeat) and each LB's bytes out since the last report."""
        live = self.agent.live
        traffic: dict[str, int] = {}
        try:
            traffic, health = self.agent.take_report()
            self.source.report(live.version if live else -1, health, traffic)
        except (OSError, AgentError, ValueError, urllib.error.URLError) as exc:
            with self.agent.lock:
                self.agent.traffic.give_back(traffic)
            log.warning("report failed: %s", exc)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    opts = RenderOptions(run_dir=Path(args.run_dir), bind=tuple(args.bind or ['0.0.0.0']),
                         http_port=args.http_port, spares_per_shape=args.spares,
                         maxconn=args.maxconn)
    agent = LBAgent.create(opts, load_address_map(args.address_map), args.haproxy)
    if args.stop:
        agent.haproxy.stop()
        return 0
    token = args.token or os.environ.get("SWS_AGENT_TOKEN", "")
    runner = Runner(agent, HttpSource(args.api, token, args.node))
    signal.signal(signal.SIGTERM, lambda *_: runner.stopping.set())
    try:
        runner.run()
    except KeyboardInterrupt:
        runner.stopping.set()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sws-agent lb", description=__doc__.split("\n")[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--token", default=None, help="an admin token (or $SWS_AGENT_TOKEN)")
    parser.add_argument("--node", default="lb-1")
    parser.add_argument("--run-dir", default="/var/lib/sws-agent/lb")
    parser.add_argument("--bind", action="append", default=None,
                        help="an address to listen on (repeat; default 0.0.0.0)")
    parser.add_argument("--http-port", type=int, default=None)
    parser.add_argument("--maxconn", type=int, default=4000)
    parser.add_argument("--spares", type=int, default=2, help="spare backends per shape")
    parser.add_argument("--address-map", type=Path, default=None)
    parser.add_argument("--haproxy", default=HAPROXY)
    parser.add_argument("--stop", action="store_true", help="stop this node's HAProxy and exit")
    return parser
