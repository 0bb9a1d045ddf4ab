"""The CDN bench's rig: real Swift, SWS's API, two `sws-agent cdn` edges; all stopped by PID.

- Swift: the cluster of `scripts/swift-dev` (started if it was down, and then stopped again),
  and a proxy of the bench's own with the pipeline an operator's proxy has for private CDN
  origins (tempauth, tempurl), one worker per core: the origin at its best on this machine.
- SWS: `bootstrap.build` on a fresh SQLite file with that Swift as RegionOne and
  `SWS_CDN_ORIGIN_SECRET` set, served by uvicorn on 127.0.0.1 in this process, with an
  operator and the tenant acme signed in.
- Two edges on 127.0.0.1: each an `sws-agent cdn` process that starts its varnishd (and
  varnishncsa) and long-polls the API for the VCL SWS renders and the purges it owes.
"""

from __future__ import annotations

import contextlib
import getpass
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from swiftclient import client as swift_client
from tests.api.conftest import Cloud, open_cloud

from sws.cdn.origin_access import ContainerPath, origin_query
from sws.clock import SimulatedClock
from sws.config import LBNodeConfig, Settings, SwiftConfig
from sws.web.app import create_app
from sws_agent.cdn import Varnish, VarnishOptions
from sws_agent.cdn._traffic import AccessLog

ROOT = Path(__file__).resolve().parents[1]
SWIFT_DEV = ROOT / "scripts" / "swift-dev"
AGENT = Path(sys.executable).with_name("sws-agent")
SECRET = "operator-secret-for-the-cdn-bench-origins"
CONTAINER = "site"
PROXY_CONF = """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = {workers}
user = {user}
swift_dir = {dir}/etc
log_name = bench-cdn-proxy
log_address = {dir}/no-syslog

[pipeline:main]
pipeline = catch_errors proxy-logging cache tempauth tempurl proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_sws_storage = {reseller_key} .reseller_admin

[filter:tempurl]
use = egg:swift#tempurl
[filter:cache]
use = egg:swift#memcache
memcache_servers = {memcache}
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:proxy-logging]
use = egg:swift#proxy_logging
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc: each process's parent)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/cdn: {what} did not happen within {seconds:.0f} s")
        time.sleep(0.1)


def stop_process(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; the process's own children too."""
    family = descendants(process.pid)
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pid in family[1:]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def swift_cluster() -> Iterator[dict[str, str]]:
    """`scripts/swift-dev`'s cluster, its endpoints as KEY=VALUE; down again if it was down."""
    was_up = subprocess.run([SWIFT_DEV, "status"], capture_output=True).returncode == 0
    up = subprocess.run([SWIFT_DEV, "up"], capture_output=True, text=True, timeout=900)
    if up.returncode != 0:
        raise SystemExit(f"scripts/swift-dev up failed:\n{up.stderr[-2000:]}")
    try:
        out = subprocess.run([SWIFT_DEV, "env"], capture_output=True, text=True).stdout
        yield dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    finally:
        if not was_up:
            subprocess.run([SWIFT_DEV, "down"], capture_output=True, timeout=120)


@contextmanager
def swift_proxy(env: dict[str, str], home: Path, workers: int) -> Iterator[tuple[str, int]]:
    """The bench's own proxy: its URL and its (parent) pid."""
    port = free_port()
    conf = home / "proxy-server.conf"
    conf.write_text(
        PROXY_CONF.format(
            port=port,
            workers=workers,
            user=getpass.getuser(),
            dir=env["SWIFT_DEV_DIR"],
            memcache=env["SWIFT_DEV_MEMCACHED"],
            reseller_key=env["SWIFT_DEV_RESELLER_KEY"],
        )
    )
    venv = Path(env["SWIFT_DEV_VENV"]) / "bin"
    with (home / "proxy.log").open("wb") as log:
        process = subprocess.Popen(
            [str(venv / "python"), str(venv / "swift-proxy-server"), str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: _listens(port) or process.poll() is not None, 60, "the Swift proxy")
        if process.poll() is not None:
            raise SystemExit(f"the Swift proxy exited:\n{(home / 'proxy.log').read_text()}")
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        stop_process(process)


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@contextmanager
def sws_api(home: Path, env: dict[str, str], proxy: str) -> Iterator[tuple[Cloud, str]]:
    """SWS on SQLite with the proxy as RegionOne's Swift, two edges, served over HTTP."""
    swift = SwiftConfig(
        proxy_url=proxy,
        internal_client_conf=Path(env["SWIFT_DEV_INTERNAL_CLIENT_CONF"]),
        auth="tempauth",
        tempauth_user=env["SWIFT_DEV_RESELLER_USER"],
        tempauth_key=env["SWIFT_DEV_RESELLER_KEY"],
    )
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'sws.db'}",
        demo_data=False,
        swift={"RegionOne": swift},
        cdn_origin_secret=SECRET,
        cdn_purge_limit=100_000,
        cdn_edges=[
            LBNodeConfig(name="edge-1", address="127.0.0.1"),
            LBNodeConfig(name="edge-2", address="127.0.0.1"),
        ],
    )
    port = free_port()
    with open_cloud(settings, SimulatedClock(datetime.now(UTC))) as cloud:
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(cloud.container),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="off",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            wait_until(lambda: server.started, 30, "the SWS API")
            yield cloud, f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@dataclass
class EdgeProcess:
    """One edge: its agent process, its Varnish and its HTTP port on 127.0.0.1."""

    name: str
    port: int
    varnish: Varnish
    agent: subprocess.Popen[bytes]

    def varnish_pids(self) -> list[int]:
        """varnishd's manager and its cache child."""
        pid = self.varnish.pid()
        return descendants(pid) if pid else []

    def ncsa_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int(AccessLog(self.varnish.options).pidfile.read_text().strip())
        return None


@contextmanager
def edges(api: str, token: str, home: Path, names: tuple[str, ...]) -> Iterator[list[EdgeProcess]]:
    """An `sws-agent cdn` process per name, each with its own varnishd; all stopped at exit
    (the agents, then their varnishd and varnishncsa, which outlive agents by design)."""
    started: list[EdgeProcess] = []
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SWS_AGENT_")}
    try:
        for name in names:
            run_dir = Path(tempfile.mkdtemp(prefix=f"cdnb-{name}-", dir="/tmp"))
            port = free_port()
            options = VarnishOptions(
                run_dir=run_dir, listen=(f"127.0.0.1:{port}",), storage="malloc,128m", identity=name
            )
            with (home / f"agent-{name}.log").open("wb") as log:
                agent = subprocess.Popen(
                    [
                        str(AGENT),
                        "cdn",
                        "--api",
                        api,
                        "--edge",
                        name,
                        "--run-dir",
                        str(run_dir),
                        "--listen",
                        f"127.0.0.1:{port}",
                        "--storage",
                        "malloc,128m",
                        "--report-interval",
                        "1",
                    ],
                    env={**environ, "SWS_AGENT_TOKEN": token},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            started.append(EdgeProcess(name, port, Varnish(options), agent))
        yield started
    finally:
        for edge in started:
            stop_process(edge.agent)
        for edge in started:
            edge.varnish.stop()
            AccessLog(edge.varnish.options).stop()
            shutil.rmtree(edge.varnish.options.run_dir, ignore_errors=True)


@dataclass
class Rig:
    """Everything the measurements use."""

    swift_env: dict[str, str]
    proxy: str
    proxy_pid: int
    cloud: Cloud
    api: str
    edges: list[EdgeProcess]
    host: str
    dist_id: str
    origin_path: str  # /v1/AUTH_<acme>/site
    storage: swift_client.Connection

    def origin_url(self, name: str) -> str:
        """The object's URL at the proxy, signed as the edges fetch it."""
        query = origin_query(SECRET.encode(), ContainerPath(self.origin_path), datetime.now(UTC))
        return f"{self.proxy}{self.origin_path}/{name}?{query}"

    def put(self, name: str, body: bytes) -> None:
        self.storage.put_object(CONTAINER, name, body)

    def object_server_pid(self) -> int | None:
        pidfile = Path(self.swift_env["SWIFT_DEV_DIR"]) / "run" / "object.pid"
        with contextlib.suppress(OSError, ValueError):
            return int(pidfile.read_text().strip())
        return None


def get(
    port: int, host: str, path: str, conn: http.client.HTTPConnection | None = None
) -> tuple[int, str, bytes]:
    """A GET to 127.0.0.1:port with `Host: host`: status, X-Cache and body."""
    connection = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host})
        answer = connection.getresponse()
        return answer.status, answer.getheader("X-Cache") or "", answer.read()
    finally:
        if conn is None:
            connection.close()


@contextmanager
def rig(edge_names: tuple[str, ...] = ("edge-1", "edge-2")) -> Iterator[Rig]:
    """Swift, SWS, the edges, and a distribution on the container `site` served by them."""
    with ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cdn-")))
        env = stack.enter_context(swift_cluster())
        proxy, proxy_pid = stack.enter_context(swift_proxy(env, home, os.cpu_count() or 1))
        cloud, api = stack.enter_context(sws_api(home, env, proxy))
        acme = cloud.acme
        made = cloud.client.post(
            "/v1/storage/containers", json={"name": CONTAINER}, headers=acme.headers
        )
        assert made.status_code == 201, made.text
        dist = _created(
            cloud.client.post(
                "/v1/cdn/distributions",
                headers=acme.headers,
                json={"name": "bench", "origin": {"kind": "container", "ref": CONTAINER}},
            )
        )
        token = cloud.admin["Authorization"].removeprefix("Bearer ")
        started = stack.enter_context(edges(api, token, home, edge_names))
        storage = _storage(env, proxy, acme.id)
        stack.callback(storage.close)
        found = Rig(
            env,
            proxy,
            proxy_pid,
            cloud,
            api,
            started,
            dist["host"],
            dist["id"],
            f"/v1/AUTH_{acme.id}/{CONTAINER}",
            storage,
        )
        found.put("ready", b"ready")
        for edge in started:
            wait_until(lambda e=edge: _serves(e, found.host), 90, f"{edge.name} serving")
        yield found


def _created(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _storage(env: dict[str, str], proxy: str, project: str) -> swift_client.Connection:
    """A Swift connection as SWS's reseller admin, to the tenant's account; it signs in again
    when its token is refused (tempauth keeps tokens in the shared memcached)."""
    return swift_client.Connection(
        authurl=f"{proxy}/auth/v1.0",
        user=env["SWIFT_DEV_RESELLER_USER"],
        key=env["SWIFT_DEV_RESELLER_KEY"],
        os_options={"object_storage_url": f"{proxy}/v1/AUTH_{project}"},
        retries=3,
    )


def _serves(edge: EdgeProcess, host: str) -> bool:
    """Whether the edge answers the distribution (not until its agent loaded the VCL)."""
    if edge.agent.poll() is not None:
        raise SystemExit(f"the agent of {edge.name} exited with {edge.agent.returncode}")
    try:
        return get(edge.port, host, "/ready")[0] == 200
    except OSError:
        return False
