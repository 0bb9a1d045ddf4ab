"""Alarms: state changes, insufficient data after a gap, signed webhooks, retries, email."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Invalid, NotFound
from sws.events.tables import dead_letters
from sws.metering import alarms, service
from sws.metering.model import Sample
from sws.metering.notifiers import Notifiers, SmtpSettings, verify
from sws.metering.targets import WebhookTargets

SECRET = "a-very-secret-webhook-key"
LOCAL = WebhookTargets(allow_private=True)  # the receiver below listens on 127.0.0.1


class Receiver(BaseHTTPRequestHandler):
    """A local webhook endpoint; answers with `status` and records what it got."""

    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    status = 204

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        Receiver.received.append((headers, body))
        self.send_response(Receiver.status)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[str]:
    Receiver.received, Receiver.status = [], 204
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def _cpu(db: Database, clock: SimulatedClock, value: float) -> None:
    service.ingest(db=db, clock=clock, samples=[Sample("srv", "proj", "cpu_util", "", clock.now(),
                                                       value)])


def _alarm(db: Database, clock: SimulatedClock, url: str = "", **extra: Any) -> alarms.Alarm:
    actions = {"alarm": [{"type": "webhook", "url": url, "secret": SECRET}]} if url else {}
    rule = {"type": "threshold", "resource_id": "srv", "meter": "cpu_util", "comparison": "gt",
            "threshold": 80.0, "granularity": 60, "evaluation_periods": 2}
    return alarms.create_alarm(db=db, clock=clock, project_id="proj", name="hot", rule=rule,
                               actions=actions, targets=LOCAL, **extra)


def _minutes(db: Database, clock: SimulatedClock, values: list[float | None]) -> str:
    """One sample per minute (None: a gap), then evaluate; returns the alarm's state."""
    for value in values:
        if value is not None:
            _cpu(db, clock, value)
        clock.advance(timedelta(minutes=1))
    alarms.evaluate_alarms(db=db, clock=clock)
    return alarms.list_alarms(db=db, project_id="proj")[0].state


def test_states_change_and_history_records_each_change(
    database: Database, clock: SimulatedClock
) -> None:
    alarm = _alarm(database, clock)
    assert alarm.state == "insufficient_data"
    assert _minutes(database, clock, [50, 60]) == "ok"
    assert _minutes(database, clock, [90, 95]) == "alarm"
    assert _minutes(database, clock, [99]) == "alarm"
    assert _minutes(database, clock, [10]) == "ok"
    entries = alarms.history(db=database, project_id="proj", alarm_id=alarm.id)
    assert [(e.previous, e.state) for e in reversed(entries)] == [
        ("insufficient_data", "ok"), ("ok", "alarm"), ("alarm", "ok")]


def test_a_gap_in_the_data_gives_insufficient_data(
    database: Database, clock: SimulatedClock
) -> None:
    _alarm(database, clock)
    assert _minutes(database, clock, [90, 90]) == "alarm"
    assert _minutes(database, clock, [None, None]) == "insufficient_data"
    reason = alarms.list_alarms(db=database, project_id="proj")[0].state_reason
    assert "2 of 2 periods have no data" in reason


def test_composite_or_alarms_when_either_rule_breaches(
    database: Database, clock: SimulatedClock
) -> None:
    low = {"type": "threshold", "resource_id": "srv", "meter": "cpu_util", "comparison": "lt",
           "threshold": 5.0}
    high = {**low, "comparison": "gt", "threshold": 80.0}
    alarms.create_alarm(db=database, clock=clock, project_id="proj", name="odd", actions={},
                        rule={"type": "or", "rules": [low, high]})
    assert _minutes(database, clock, [50]) == "ok"
    assert _minutes(database, clock, [2]) == "alarm"


def test_bad_alarms_are_refused_naming_the_field(database: Database, clock: SimulatedClock) -> None:
    with pytest.raises(Invalid) as window:
        alarms.create_alarm(db=database, clock=clock, project_id="proj", name="x", actions={},
                            rule={"type": "threshold", "resource_id": "srv", "meter": "cpu_util",
                                  "comparison": "gt", "threshold": 1, "evaluation_periods": -3})
    assert window.value.field == "evaluation_periods"
    _cpu(database, clock, 1)
    with pytest.raises(NotFound):
        alarms.create_alarm(db=database, clock=clock, project_id="other", name="x", actions={},
                            rule={"type": "threshold", "resource_id": "srv", "meter": "cpu_util",
                                  "comparison": "gt", "threshold": 1})


def _notifiers(clock: SimulatedClock, port: int = 25) -> Notifiers:
    return Notifiers(clock=clock, smtp=SmtpSettings(port=port), timeout=2, targets=lambda: LOCAL)


def test_a_signed_webhook_reaches_a_local_server_and_verifies(
    database: Database, clock: SimulatedClock, webhook: str
) -> None:
    _alarm(database, clock, webhook)
    _minutes(database, clock, [90, 90])
    counts = alarms.deliver_due(db=database, clock=clock, notifiers=_notifiers(clock))
    assert counts["delivered"] == 1
    (headers, body), = Receiver.received
    now = int(clock.now().timestamp())
    assert verify(SECRET, headers["x-sws-signature"], body, now=now)
    assert not verify("wrong-secret-wrong-secret", headers["x-sws-signature"], body, now=now)
    assert not verify(SECRET, headers["x-sws-signature"], body + b" ", now=now)
    notice = json.loads(body)
    assert (notice["previous"], notice["current"]) == ("insufficient_data", "alarm")
    assert notice["delivery_id"] == headers["x-sws-delivery"]


def test_repeat_actions_send_again_while_the_alarm_holds(
    database: Database, clock: SimulatedClock, webhook: str
) -> None:
    _alarm(database, clock, webhook, repeat_actions=True)
    _minutes(database, clock, [90, 90])
    _minutes(database, clock, [95])
    alarms.deliver_due(db=database, clock=clock, notifiers=_notifiers(clock))
    assert len(Receiver.received) == 2


def test_failures_back_off_then_land_in_dead_letters(
    database: Database, clock: SimulatedClock, webhook: str
) -> None:
    Receiver.status = 500
    _alarm(database, clock, webhook)
    _minutes(database, clock, [90, 90])
    policy = alarms.DeliveryPolicy(attempts=3, backoff=timedelta(seconds=10))
    outcomes = []
    for wait in (0, 5, 5, 20, 40):  # due at +0, +10 and +30 s
        clock.advance(timedelta(seconds=wait))
        outcomes.append(alarms.deliver_due(db=database, clock=clock, notifiers=_notifiers(clock),
                                           policy=policy))
    assert [sum(o.values()) for o in outcomes] == [1, 0, 1, 1, 0]
    assert outcomes[3]["dead"] == 1 and len(Receiver.received) == 3
    with database.read() as conn:
        letter = conn.execute(select(dead_letters)).one()
    assert letter.source == "alarm-webhook" and "after 3 attempts" in letter.reason
    assert SECRET not in letter.raw


class Sink:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, _server: Any, _session: Any, envelope: Any
    ) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


def test_email_goes_out_over_smtp_to_a_local_sink(
    database: Database, clock: SimulatedClock
) -> None:
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        rule = {"type": "threshold", "resource_id": "srv", "meter": "cpu_util",
                "comparison": "gt", "threshold": 80.0}
        alarms.create_alarm(db=database, clock=clock, project_id="proj", name="mail", rule=rule,
                            actions={"alarm": [{"type": "email", "to": "ops@example.com"}]})
        _minutes(database, clock, [99])
        counts = alarms.deliver_due(db=database, clock=clock, notifiers=_notifiers(clock, port))
    finally:
        controller.stop()
    assert counts["delivered"] == 1
    (message,) = sink.messages
    assert b"[SWS alarm] mail is alarm" in message and b"ops@example.com" in message
