"""A game day's moving parts on the three nodes: the load through HAProxy and what it saw, the
publisher standing in for OpenStack, and the faults (kill -9, restarts, a cut-off node)."""

from __future__ import annotations

import itertools
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx
import kombu
from sqlalchemy import Engine, func, select

from sws.events.tables import dead_letters, processed_messages
from tests.chaos.books import TopUp
from tests.chaos.month import Notification
from tests.nodes.deployment import FRONT, api_backends_up, node

# The example secrets of deploy/ansible/inventory/nodes/group_vars/all.yml.
BROKER = "amqp://sws:sws-example-rabbit-password@10.77.0.13:5672/sws"
CUT_TABLE = "sws_chaos_cut"
CUT_RULES = f"""table inet {CUT_TABLE} {{
  chain input {{ type filter hook input priority -10; policy drop; iif "lo" accept; }}
  chain output {{ type filter hook output priority -10; policy drop; oif "lo" accept; }}
}}
"""


@dataclass
class Tally:
    """Every request the load made: when, and whether it was answered without error."""

    started: float = field(default_factory=time.monotonic)
    seen: list[tuple[float, bool]] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, what: str, good: bool) -> None:
        with self.lock:
            self.seen.append((time.monotonic() - self.started, good))
            self.answers[what] += 1

    def share(self, outside: tuple[float, float] | None = None) -> tuple[int, int]:
        """(answered without error, all), leaving out requests made inside `outside`."""
        kept = [good for at, good in self.seen
                if outside is None or not outside[0] <= at <= outside[1]]
        return sum(kept), len(kept)


def _asked(tally: Tally, client: httpx.Client, method: str, path: str, **kwargs: object) -> int:
    try:
        answer = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as error:
        tally.record(type(error).__name__, False)
        return 0
    # HAProxy's own answers (no API process to send to) carry no X-SWS-Backend.
    by = "" if "X-SWS-Backend" in answer.headers else " from HAProxy"
    tally.record(f"{answer.status_code}{by}", answer.status_code < 500)
    return answer.status_code


def reads(tally: Tally, stop: threading.Event, paths: list[tuple[str, dict[str, str]]]) -> None:
    """A reader: a tenant's servers and bill, the admin's tenant list, until `stop`."""
    with httpx.Client(base_url=FRONT, timeout=10) as client:
        while not stop.is_set():
            path, headers = random.choice(paths)
            _asked(tally, client, "GET", path, headers=headers)


@dataclass
class Writer:
    """Top-ups of 1.00 through HAProxy, each with its own idempotency key. A top-up whose answer
    was lost is `unsure` until `settle` sends it again with the same key."""

    admin: dict[str, str]
    tenant_ids: dict[str, str]
    run: str
    done: list[TopUp] = field(default_factory=list)
    unsure: list[TopUp] = field(default_factory=list)

    def run_until(self, tally: Tally, stop: threading.Event) -> None:
        names = sorted(self.tenant_ids)
        with httpx.Client(base_url=FRONT, timeout=10) as client:
            for n in itertools.count():
                if stop.is_set():
                    return
                top_up = TopUp(names[n % len(names)], "1.00", f"{self.run}-w{n}")
                status = _asked(tally, client, "POST", self._path(top_up), headers=self.admin,
                                json=self._body(top_up))
                (self.done if status == 201 else self.unsure).append(top_up)
                time.sleep(0.2)

    def settle(self, front: httpx.Client) -> list[TopUp]:
        """Send every unsure top-up again (the key makes it once); every top-up made."""
        for top_up in self.unsure:
            answer = front.post(self._path(top_up), headers=self.admin, json=self._body(top_up))
            assert answer.status_code == 201, answer.text
        return self.done + self.unsure

    def _path(self, top_up: TopUp) -> str:
        return f"/v1/admin/billing/{self.tenant_ids[top_up.tenant]}/topups"

    @staticmethod
    def _body(top_up: TopUp) -> dict[str, str]:
        return {"amount": top_up.amount, "currency": "CNY", "idempotency_key": top_up.key}


@dataclass
class Publisher:
    """Nova standing in: publishes each phase at `rate` a second, persistent and confirmed by
    the broker, sending a message again when the broker went away before it confirmed; the
    next phase only once SWS has journalled every message of this one."""

    engine: Engine
    rate: float
    log: list[str] = field(default_factory=list)
    sent: int = 0

    def run(self, phases: list[list[Notification]], stop: threading.Event) -> None:
        for phase in phases:
            for notice in phase:
                if stop.is_set():
                    return
                self._publish(notice.line)
                time.sleep(1 / self.rate)
            ids = [notice.message_id for notice in phase]
            while not stop.is_set() and self.journalled(ids) < len(ids):
                time.sleep(1)

    def _publish(self, line: str) -> None:
        while True:
            try:
                with kombu.Connection(BROKER, transport_options={"confirm_publish": True},
                                      connect_timeout=5) as conn:
                    # As Nova with amqp_durable_queues, as the deployment's SWS expects.
                    exchange = kombu.Exchange("nova", type="topic", durable=True)
                    conn.Producer().publish(
                        line, exchange=exchange, declare=[exchange], delivery_mode=2,
                        routing_key="versioned_notifications.info",
                        content_type="application/json", retry=False)
                self.sent += 1
                return
            except Exception as error:  # the broker restarting: send the same message again
                self.log.append(f"{time.strftime('%X')} publish again: {type(error).__name__}")
                time.sleep(1)

    def journalled(self, ids: Iterable[str]) -> int:
        """How many of these message ids SWS handled (0 while the database is away)."""
        try:
            with self.engine.connect() as conn:
                query = select(func.count()).select_from(processed_messages).where(
                    processed_messages.c.message_id.in_(list(ids)))
                return int(conn.execute(query).scalar_one())
        except Exception:
            return 0

    def dead_letters(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(dead_letters)).scalar_one())


@dataclass
class Faults:
    """What happened to the nodes, and when (seconds since `started`)."""

    started: float = field(default_factory=time.monotonic)
    log: list[str] = field(default_factory=list)
    kills: Counter[str] = field(default_factory=Counter)
    cut: tuple[float, float] | None = None
    partitioned: bool = False

    def note(self, what: str) -> None:
        self.log.append(f"{time.monotonic() - self.started:5.1f} s  {what}")

    def kill_one(self, rng: random.Random, nodes: tuple[str, ...], units: tuple[str, ...]) -> None:
        """kill -9 of a random SWS unit; an API only while the other one is in HAProxy's pool
        and no node is cut off: HAProxy takes 2-3 s to see a cut node's API gone, and an API
        killed meanwhile left none to answer until it was back (3,608 503s from HAProxy in
        one loaded run, where its restart took long)."""
        name, unit = rng.choice(nodes), rng.choice(units)
        if unit.startswith("sws-api@") and (self.partitioned or len(api_backends_up()) < 2):
            unit = rng.choice([u for u in units if not u.startswith("sws-api@")])
        node(name, "systemctl", "kill", "--signal=KILL", unit, check=False)  # may be restarting
        self.kills[f"{name}:{unit}"] += 1

    def restart(self, name: str, service: str) -> None:
        began = time.monotonic()
        node(name, "systemctl", "restart", service)
        self.note(f"{service} on {name} restarted in {time.monotonic() - began:.1f} s")

    def partition(self, name: str, seconds: float, during: Callable[[], None]) -> None:
        """Drop every packet of `name` but its loopback's for `seconds`, then heal it."""
        cut = ["ip", "netns", "exec", name, "nft"]
        began = time.monotonic() - self.started
        self.partitioned = True
        _host([*cut, "-f", "-"], CUT_RULES)
        self.note(f"{name} cut off")
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            during()
        _host([*cut, "delete", "table", "inet", CUT_TABLE])
        self.partitioned = False
        self.cut = (began, time.monotonic() - self.started)
        self.note(f"{name} healed")


def _host(command: list[str], stdin: str | None = None) -> None:
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(command)}: {done.stderr}"
