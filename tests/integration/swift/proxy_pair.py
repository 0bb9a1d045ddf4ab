"""Real Swift proxies sharing one Redis budget, and clients hammering one address through them.

Used by the bounded-overshoot test (`test_budget_overshoot.py`) and by `bench/storagefw.py`.
Each proxy is a stock `swift-proxy-server` from the rig's venv (scripts/swift-dev), on the
rig's rings and memcache, with `sws_firewall` in `redis_mode = batched`. Every client thread
keeps one HTTP connection to one proxy, so all requests come from 127.0.0.1: one address.
"""

from __future__ import annotations

import http.client
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.integration.sws_process import free_port, stop

from .test_storage_firewall_doc import _wait_for, proxy_conf

PIPELINE = """[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging cache tempauth sws_firewall
           proxy-logging proxy-server

[filter:sws_firewall]
paste.filter_factory = sws_swift.middleware:filter_factory
counter_backend = redis
redis_mode = batched
redis_url = {redis_url}
redis_key_prefix = {prefix}
sync_interval = {interval}
# A loaded CI machine can take longer than the default 0.1 s to answer: not an outage.
redis_timeout = 2

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
"""


@contextmanager
def batched_proxies(
    env: dict[str, str], count: int, prefix: str, interval: float, directory: Path
) -> Iterator[list[str]]:
    """`count` proxies sharing the rig's Redis under `prefix`; their URLs. Stopped by PID."""
    pipeline = PIPELINE.format(
        redis_url=env["SWIFT_DEV_REDIS_URL"], prefix=prefix, interval=interval
    )
    with ExitStack() as stack:
        urls = [
            stack.enter_context(_proxy(env, pipeline, directory / f"proxy-{n}"))
            for n in range(count)
        ]
        yield urls


@contextmanager
def _proxy(env: dict[str, str], pipeline: str, home: Path) -> Iterator[str]:
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = home / "proxy-server.conf"
    conf.write_text(proxy_conf(env, port, pipeline))
    venv = Path(env["SWIFT_DEV_VENV"]) / "bin"
    log_path = home / "proxy.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(venv / "python"), str(venv / "swift-proxy-server"), str(conf), "-v"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(port, process, log_path)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process, grace=10)


@dataclass
class Hammered:
    """What the clients saw: admitted (2xx), refused by a limit (429), anything else."""

    admitted: int
    limited: int
    other: int
    seconds: float
    by_proxy: dict[str, int]

    @property
    def rate(self) -> float:
        """Requests per second, every proxy together."""
        return (self.admitted + self.limited + self.other) / self.seconds


def hammer(urls: list[str], path: str, token: str, total: int, per_proxy: int = 2) -> Hammered:
    """`total` GETs of `path`, spread over `per_proxy` client threads per proxy at once."""
    threads = [url for url in urls for _ in range(per_proxy)]
    left = [total]
    lock = threading.Lock()
    counts: dict[str, int] = {"admitted": 0, "limited": 0, "other": 0}
    by_proxy = dict.fromkeys(urls, 0)

    def client(url: str) -> None:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.netloc, timeout=30)
        try:
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                connection.request("GET", path, headers={"X-Auth-Token": token})
                answer = connection.getresponse()
                answer.read()
                kind = _kind(answer.status)
                with lock:
                    counts[kind] += 1
                    by_proxy[url] += kind == "admitted"
        finally:
            connection.close()

    workers = [threading.Thread(target=client, args=(url,)) for url in threads]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    return Hammered(counts["admitted"], counts["limited"], counts["other"], seconds, by_proxy)


def _kind(status: int) -> str:
    if 200 <= status < 300:
        return "admitted"
    return "limited" if status == 429 else "other"


def overshoot_bound(limit: int, proxies: int, interval: float, rate: float) -> float:
    """Issue 17's bound on admitted requests: N x 1.01 + proxies x interval x rate."""
    return limit * 1.01 + proxies * interval * rate


def away_from_a_window_edge(window: int, seconds: float) -> None:
    """Wait until at least `seconds` remain in the current window (a run must not straddle)."""
    remaining = window - time.time() % window
    if remaining < seconds:
        time.sleep(remaining + 0.5)


def backend_warnings(directory: Path) -> int:
    """How often the proxies under `directory` found Redis unavailable (and failed open)."""
    return sum(
        log.read_text(errors="replace").count("counter backend unavailable")
        for log in directory.glob("proxy-*/proxy.log")
    )
