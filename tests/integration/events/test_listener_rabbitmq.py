"""The notification listener on the machine's RabbitMQ: it keeps one connection alive.

The broker drops a connection that misses two heartbeats. The listener must send them while it
waits for messages, or every few heartbeats it reconnects and its unacknowledged batch is
delivered again.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from sws.clock import SystemClock
from sws.db.engine import Database
from sws.events.listener import NotificationListener

kombu = pytest.importorskip("kombu")
BROKER = "amqp://guest:guest@127.0.0.1:5672//"
HEARTBEAT = 2  # seconds: the broker gives up after about two missed beats


@pytest.fixture
def queue_name() -> Iterator[str]:
    name = f"sws-events-test-{uuid.uuid4().hex[:8]}"
    yield name
    with kombu.Connection(BROKER) as conn:
        kombu.Queue(name, channel=conn.default_channel).delete()


def _publish(envelope: dict[str, object]) -> None:
    with kombu.Connection(BROKER) as conn:
        exchange = kombu.Exchange("nova", type="topic", durable=False)
        conn.Producer().publish(
            json.dumps(envelope), exchange=exchange, declare=[exchange],
            routing_key="versioned_notifications.info", content_type="application/json",
        )


def test_a_quiet_listener_keeps_its_connection_past_many_heartbeats(
    database: Database, queue_name: str
) -> None:
    listener = NotificationListener(
        db=database, clock=SystemClock(), region="RegionOne", transport_url=BROKER,
        queue=queue_name, heartbeat=HEARTBEAT,
    )
    stop = threading.Event()
    worker = threading.Thread(target=listener.run, args=(stop,), daemon=True)
    worker.start()
    try:
        time.sleep(HEARTBEAT * 5)  # quiet: only heartbeats keep the connection open
        _publish({"oslo.message": json.dumps({"message_id": "not-a-notification"})})
        deadline = time.monotonic() + 20
        while listener.stats.batches == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert listener.stats.batches == 1, "the message published after the quiet spell arrived"
    assert listener.stats.connections == 1, "the broker never dropped the connection"
