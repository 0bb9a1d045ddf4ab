"""The game day's alarms: a webhook receiver on the host's end of the nodes' bridge, alarms on
metrics that rise and fall over three minutes, and the transitions each alarm should fire.

Each alarm watches one resource's `cpu_util` (mean over one minute, above 80). Its samples are
high in the minute before `rise` and low in the minute after, and stop there, so every alarm
goes insufficient_data -> alarm at `rise`, alarm -> ok a minute later, and ok ->
insufficient_data a minute after that, whichever ticker holds the evaluator's lease then.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from sqlalchemy import Engine

from sws.clock import SystemClock
from sws.db.engine import Database
from sws.metering.model import align
from sws.metering.notifiers import verify
from sws.metering.service import import_jsonl

HOST = "10.77.0.1"  # the host on the bridge sws-br0 (scripts/nodes); the tickers reach it there
SECRET = "sws-chaos-webhook-secret"
EXPECTED = [("insufficient_data", "alarm"), ("alarm", "ok"), ("ok", "insufficient_data")]
Transition = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Notice:
    """One POST the receiver took: the delivery id and the transition it announced."""

    delivery_id: str
    alarm_id: str
    transition: Transition
    at: str


@dataclass
class Receiver:
    """A tenant's webhook endpoint: checks each signature, refuses the first attempt of about a
    third of the notices (503: ids ending in 0, 3, 6, 9, c or f), so that retries happen under
    the faults too, and keeps the rest."""

    notices: list[Notice] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    forged: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, delivery_id: str, signature: str, body: bytes) -> int:
        if not verify(SECRET, signature, body, now=int(time.time())):
            with self.lock:
                self.forged += 1
            return 401
        data = json.loads(body)
        with self.lock:
            if delivery_id not in self.refused and int(delivery_id[-1], 16) % 3 == 0:
                self.refused.add(delivery_id)
                return 503
            self.notices.append(Notice(delivery_id, data["alarm_id"],
                                       (data["previous"], data["current"]), data["at"]))
            return 200

    def by_alarm(self) -> dict[str, list[Transition]]:
        """Each alarm's transitions, one per delivery id, in the order they happened."""
        with self.lock:
            first = {n.delivery_id: n for n in reversed(self.notices)}
        found: dict[str, list[Notice]] = defaultdict(list)
        for notice in first.values():
            found[notice.alarm_id].append(notice)
        return {alarm: [n.transition for n in sorted(seen, key=lambda n: n.at)]
                for alarm, seen in found.items()}

    def repeats(self) -> int:
        """Notices received more than once (the same delivery id): a crash between sending
        and recording repeats one, which receivers drop by its X-SWS-Delivery."""
        with self.lock:
            counts = Counter(n.delivery_id for n in self.notices)
        return sum(n - 1 for n in counts.values())


@contextmanager
def receiving() -> Iterator[tuple[Receiver, str]]:
    """The receiver, listening on HOST, and its URL."""
    receiver = Receiver()

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = receiver.take(self.headers.get("X-SWS-Delivery", ""),
                                   self.headers.get("X-SWS-Signature", ""), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, f"http://{HOST}:{server.server_address[1]}/alarms"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True, slots=True)
class RiseAndFall:
    """`count` alarms of one tenant, on resources `<run>-vm<k>`, whose metric is high in the
    minute before `rise` and low in the minute after."""

    run: str
    project_id: str
    count: int
    rise: datetime

    @classmethod
    def starting_soon(cls, run: str, project_id: str, count: int, lead: float) -> RiseAndFall:
        """The first whole minute at least `lead` seconds from now is the rise."""
        soon = datetime.now(UTC) + timedelta(seconds=lead)
        return cls(run, project_id, count, align(soon, 60) + timedelta(minutes=1))

    @property
    def settled_at(self) -> datetime:
        """When the last transition (to insufficient_data) is due."""
        return self.rise + timedelta(minutes=2)

    def resources(self) -> list[str]:
        return [f"{self.run}-vm{k:02d}" for k in range(self.count)]

    def samples(self) -> list[str]:
        """JSON lines for `sws metrics import`: every 10 s, 95% then 5%."""
        lines = []
        for resource in self.resources():
            for step in range(12):
                at = self.rise + timedelta(seconds=10 * step - 60)
                lines.append(json.dumps({
                    "resource_id": resource, "project_id": self.project_id,
                    "meter": "cpu_util", "unit": "%", "type": "gauge",
                    "timestamp": at.isoformat(), "value": 95.0 if step < 6 else 5.0}))
        return lines

    def create(self, front: httpx.Client, member: dict[str, str], url: str) -> list[str]:
        """The alarms, through HAProxy as the tenant's member; their ids."""
        action = {"type": "webhook", "url": url, "secret": SECRET}
        ids = []
        for resource in self.resources():
            body = {"name": f"{resource} busy", "rule": {
                "type": "threshold", "resource_id": resource, "meter": "cpu_util",
                "comparison": "gt", "threshold": 80, "granularity": 60},
                "alarm_actions": [action], "ok_actions": [action],
                "insufficient_data_actions": [action]}
            made = front.post("/v1/alarms", json=body, headers=member)
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
        return ids

    def load(self, engine: Engine) -> int:
        """The samples, written as `sws metrics import` writes them; how many were taken."""
        report = import_jsonl(db=Database(engine), clock=SystemClock(), lines=self.samples())
        assert report.rejected_total == 0, report
        return report.accepted


def histories(front: httpx.Client, member: dict[str, str], ids: list[str]
              ) -> dict[str, list[Transition]]:
    """Each alarm's recorded transitions, oldest first."""
    found = {}
    for alarm_id in ids:
        page = front.get(f"/v1/alarms/{alarm_id}/history", headers=member)
        assert page.status_code == 200, page.text
        found[alarm_id] = [(e["previous"], e["state"]) for e in reversed(page.json()["items"])]
    return found


def fired(receiver: Receiver, ids: list[str], until: datetime) -> dict[str, list[Transition]]:
    """What the receiver took, once every alarm's three transitions arrived or `until` (plus
    a minute for the retries' backoff) passed."""
    deadline = until + timedelta(minutes=1)
    while True:
        seen = receiver.by_alarm()
        if all(seen.get(i) == EXPECTED for i in ids) or datetime.now(UTC) > deadline:
            return {i: seen.get(i, []) for i in ids}
        time.sleep(2)
