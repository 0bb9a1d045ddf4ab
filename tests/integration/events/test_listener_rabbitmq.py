"""The notification listener on the machine's RabbitMQ: it keeps one connection alive, and it
declares the services' exchanges durable when told to (SWS_EVENTS_DURABLE_EXCHANGES).

The broker drops a connection that misses two heartbeats. The listener must send them while it
waits for messages, or every few heartbeats it reconnects and its unacknowledged batch is
delivered again.
"""

from __future__ import annotations

import json
import logging
import subprocess
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


@pytest.fixture
def vhost() -> Iterator[str]:
    """A vhost of the test's own: durable `nova` exchanges must not meet the other tests'."""
    name = f"sws-durable-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    yield name
    _rabbitmqctl("delete_vhost", name)


def _rabbitmqctl(*args: str) -> str:
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)}: {done.stderr}"
    return done.stdout


def test_durable_exchanges_keep_the_queue_bound_as_openstack_declares_them(
    database: Database, vhost: str
) -> None:
    broker = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    listener = NotificationListener(
        db=database, clock=SystemClock(), region="RegionOne", transport_url=broker,
        queue="sws-events", durable_exchanges=True,
    )
    stop = threading.Event()
    worker = threading.Thread(target=listener.run, args=(stop,), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while "nova" not in _rabbitmqctl("list_bindings", "-p", vhost, "source_name"):
            assert time.monotonic() < deadline, "the listener never bound its queue"
            time.sleep(0.2)
        # Nova with amqp_durable_queues = true publishes to the same, durable, exchange.
        with kombu.Connection(broker) as conn:
            exchange = kombu.Exchange("nova", type="topic", durable=True)
            conn.Producer().publish(
                json.dumps({"oslo.message": json.dumps({"message_id": "durable-1"})}),
                exchange=exchange, declare=[exchange], routing_key="versioned_notifications.info",
                content_type="application/json",
            )
        while listener.stats.batches == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(timeout=10)
    listed = _rabbitmqctl("list_exchanges", "-p", vhost, "name", "durable").splitlines()
    durable = dict(line.split("\t") for line in listed if "\t" in line)
    assert [durable[name] for name in ("nova", "neutron", "glance", "octavia", "cinder")] == [
        "true"] * 5
    assert listener.stats.batches == 1, "the message sent to the durable exchange arrived"


def test_exchanges_of_another_durability_are_an_error_naming_the_setting(
    database: Database, vhost: str, caplog: pytest.LogCaptureFixture
) -> None:
    broker = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    with kombu.Connection(broker) as conn:  # Nova with amqp_durable_queues = true came first
        kombu.Exchange("nova", type="topic", durable=True).declare(channel=conn.default_channel)
    listener = NotificationListener(
        db=database, clock=SystemClock(), region="RegionOne", transport_url=broker,
        queue="sws-events", durable_exchanges=False,
    )
    stop = threading.Event()
    worker = threading.Thread(target=listener.run, args=(stop,), daemon=True)
    with caplog.at_level(logging.ERROR, logger="sws.events"):
        worker.start()
        deadline = time.monotonic() + 30
        while not _errors(caplog) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        worker.join(timeout=10)
    assert _errors(caplog), "no error was logged"
    message = _errors(caplog)[0]
    assert "SWS_EVENTS_DURABLE_EXCHANGES" in message and "it is false here" in message, message


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sws.events.listener"]
