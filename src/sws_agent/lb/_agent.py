"""LBAgent: renders, starts or reloads HAProxy, applies each new state version live, and reads
member health and traffic back from the running worker."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sws.loadbalancer.model import DesiredState, Member
from sws.loadbalancer.renderer import Rendered, RenderOptions, render
from sws_agent.lb._files import FileWriter, RunDir
from sws_agent.lb._haproxy import (
    HAPROXY,
    AgentError,
    HAProxy,
    health_of,
    parse_backend_bytes,
    parse_show_stat,
)
from sws_agent.lb._plan import Live, freed, plan
from sws_agent.lb._traffic import Traffic

log = logging.getLogger("sws_agent.lb")
OK_REPLIES = {"", "New server registered.", "Server deleted."}
BATCH_BYTES = 8000  # well under HAProxy's CLI line (tune.bufsize, 16 kB by default)


def batches(commands: Sequence[str], limit: int = BATCH_BYTES) -> list[list[str]]:
    """Runtime commands grouped into `a; b; c` lines of at most `limit` bytes each."""
    out: list[list[str]] = []
    size = limit
    for command in commands:
        if ";" in command or "\n" in command:
            raise AgentError(f"refusing a runtime command with a separator: {command!r}")
        if size + len(command) + 2 > limit:
            out.append([])
            size = 0
        out[-1].append(command)
        size += len(command) + 2
    return out


def load_address_map(path: Path | None) -> dict[str, str]:
    return {} if path is None else dict(json.loads(path.read_text()))


def translate(state: DesiredState, address_map: dict[str, str]) -> DesiredState:
    """Member addresses as this node reaches them (see `--address-map`)."""
    if not address_map:
        return state
    return replace(
        state,
        loadbalancers=tuple(
            replace(lb, members=tuple(_translated(m, address_map) for m in lb.members))
            for lb in state.loadbalancers
        ),
    )


def _translated(member: Member, address_map: dict[str, str]) -> Member:
    target = address_map.get(f"{member.address}:{member.port}")
    if target is None:
        return member
    host, _, port = target.rpartition(":")
    return replace(member, address=host, port=int(port))


def listen_addresses(state: DesiredState, node: str | None) -> tuple[str]:
    """Where a node listens without `--bind`: its shared address in `SWS_LB_NODES`."""
    address = state.address_of(node or "")
    if address is None:
        raise AgentError(
            f"SWS_LB_NODES gives no address for node {node!r}: check --node, "
            "or say where to listen with --bind"
        )
    return (address,)


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
    worker: int = 0  # the worker the live state was applied to
    traffic: Traffic = field(default_factory=lambda: Traffic())
    node: str | None = None  # with no bind address in `opts`: listen on this node's address
    writer: FileWriter = field(init=False)  # the files, written after each runtime change

    def __post_init__(self) -> None:
        self.writer = FileWriter(RunDir(self.opts.run_dir))
        self.haproxy.before_reload = self.writer.settle  # a reload loads the newest files

    @classmethod
    def create(
        cls,
        opts: RenderOptions,
        address_map: dict[str, str] | None = None,
        binary: str = HAPROXY,
        node: str | None = None,
    ) -> LBAgent:
        opts.run_dir.mkdir(parents=True, exist_ok=True)
        return cls(opts, HAProxy(opts.run_dir, binary), address_map or {}, node=node)

    @property
    def files(self) -> RunDir:
        return RunDir(self.opts.run_dir)

    def settle_files(self, timeout: float) -> bool:
        """Wait (up to `timeout` seconds) until the files hold the last applied state."""
        return self.writer.settle(timeout)

    @property
    def rendered(self) -> Rendered | None:
        """What the files on disk hold (they may lag the live worker by one write)."""
        return self.writer.rendered

    @property
    def maps(self) -> tuple[Path, Path]:
        return self.files.maps

    def start(self, state: DesiredState) -> None:
        """Full render and check; start HAProxy, or reload the one already running."""
        with self.lock:
            self._take_bind(state)
            self._write_and_load(translate(state, self.address_map), start=True)

    def apply(self, state: DesiredState) -> str:
        """Take HAProxy to `state`: 'unchanged', 'runtime' or 'reload'."""
        with self.lock:
            state = translate(state, self.address_map)
            if self.live is None:
                self._take_bind(state)
                self._write_and_load(state, start=True)
                return "reload"
            self._notice_outside_reload()
            if state.version == self.live.version:
                return "unchanged"
            return self._apply(state)

    def _take_bind(self, state: DesiredState) -> None:
        """Without `--bind`, listen on the shared address `SWS_LB_NODES` gives this node."""
        if not self.opts.bind:
            self.opts = replace(self.opts, bind=listen_addresses(state, self.node))
            log.info(
                "listening on %s, the address SWS_LB_NODES gives %s", self.opts.bind[0], self.node
            )

    def _notice_outside_reload(self) -> None:
        """Someone else reloaded (USR2, systemd): the worker runs the files last written."""
        workers = self.haproxy.proc().workers
        rendered = self.writer.rendered
        if workers and max(workers) != self.worker and rendered is not None:
            # The files' version, which may be older than the worker's was: then the runner
            # fetches the newest state again at once and applies it to this worker.
            self.live = Live.from_render(rendered, self.writer.version)
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
        gone = freed(self.live, steps.backends)
        if gone:
            # A freed backend may serve another LB next: credit its last bytes to the old one
            # (only its row: `show stat` of every backend costs milliseconds at 1,000 LBs).
            self._count_traffic(only=gone)
        self.live = Live(steps.backends, steps.hosts, steps.ports, state.version)
        self.runtime_applies += 1
        # Live now; the files matter only to the next reload, which waits for them.
        self.writer.submit(state, self.opts)
        return "runtime"

    def _run(self, commands: Sequence[str]) -> None:
        """The commands in as few round trips as the CLI's line allows (`a; b; c`); each
        `del server` last, on its own, once the sessions its `shutdown sessions` ended are gone.
        """
        deletions = [c for c in commands if c.startswith("del server ")]
        for batch in batches([c for c in commands if c not in deletions]):
            self._check(batch, self.haproxy.runtime("; ".join(batch)))
        for command in deletions:
            self._delete(command)

    def _delete(self, command: str, attempts: int = 100) -> None:
        for _ in range(attempts):
            reply = self.haproxy.runtime(command)
            if "still has connections" not in reply:
                break
            time.sleep(0.01)
        self._check([command], reply)

    @staticmethod
    def _check(batch: list[str], reply: str) -> None:
        refused = [line for line in reply.splitlines() if line.strip() not in OK_REPLIES]
        if refused:
            raise AgentError(f"{batch!r}: {' / '.join(refused)}")

    def _write_and_load(self, state: DesiredState, start: bool = False) -> None:
        self.writer.drop()  # what it would write is older than `state`
        rendered = render(state, self.opts)
        staged = self.files.staged_config
        self.files.write(rendered, staged)  # maps: the running worker never rereads them
        self.writer.written(rendered, state.version)
        self.haproxy.check(staged)
        running = self.haproxy.running()
        if running:
            self._save_server_state()
            with contextlib.suppress(OSError, AgentError, ValueError):
                self._count_traffic()  # the new worker's counters start at zero
        else:
            self.files.save_server_state(None)
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
        self.files.save_server_state(text)

    def _count_traffic(self, text: str | None = None, only: list[str] | None = None) -> None:
        """Add each LB's bytes since the last count to `traffic.pending` (lock held); `only`:
        just these backends' rows (`show stat <backend> 2 -1`)."""
        if self.live is None:
            return
        if only is not None:
            bout: dict[str, int] = {}
            for name in only:
                bout.update(parse_backend_bytes(self.haproxy.runtime(f"show stat {name} 2 -1")))
        else:
            bout = parse_backend_bytes(
                text if text is not None else self.haproxy.runtime("show stat")
            )
        owners = {name: b.lb_id for name, b in self.live.backends.items()}
        self.traffic.count(self.worker, owners, bout)

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
