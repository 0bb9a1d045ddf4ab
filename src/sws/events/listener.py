"""The RabbitMQ notification listener (`sws worker events`): OpenStack notifications in, events out.

It binds one durable queue (`SWS_EVENTS_QUEUE`, default `sws-events`) to:
- exchange `nova`, routing keys `versioned_notifications.info|error` (Nova versioned);
- exchanges `neutron`, `glance`, `octavia`, `cinder`, routing keys `notifications.info|error`
  (legacy; Cinder publishes to `cinder` with `control_exchange = cinder`, docs/openstack.md).

Exchanges are declared as oslo.messaging declares them (topic; durable only when OpenStack's
`amqp_durable_queues` is on, and then `SWS_EVENTS_DURABLE_EXCHANGES` must be too), so the
listener may start before or after the services. With exchanges that are not durable, a
RabbitMQ restart forgets them and with them this queue's bindings: what a service publishes
before the listener binds again reaches no SWS queue (docs/openstack.md).

Messages are taken in batches (up to `batch_size`, or what arrived within `batch_wait`
seconds) and handed to `events.service.ingest`, the same path the simulated region and
`sws events import` use. The default batch is 1,000: draining a backlog on
PostgreSQL, batches of 200 cost 1.6x the CPU per notification (63-68 against 40-41 µs). A
batch is acknowledged only after its transaction commits: a crash before that leaves the
messages on the queue, and their redelivery is recognised by message_id, so nothing is lost and
nothing is counted twice. A message that cannot be parsed is dead-lettered by `ingest` (and
then acknowledged).

Several listeners on the same queue are competing consumers. If the database fails, the batch
is returned to the queue and the listener retries after a pause; if RabbitMQ goes away it
reconnects. Why kombu and not oslo.messaging: see docs/openstack.md.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sws.clock import Clock
from sws.db.engine import Database
from sws.events import service
from sws.events.service import IngestCounts

log = logging.getLogger("sws.events.listener")

#: exchange -> routing keys, as OpenStack publishes them.
BINDINGS: dict[str, tuple[str, ...]] = {
    "nova": ("versioned_notifications.info", "versioned_notifications.error"),
    "neutron": ("notifications.info", "notifications.error"),
    "glance": ("notifications.info", "notifications.error"),
    "octavia": ("notifications.info", "notifications.error"),
    "cinder": ("notifications.info", "notifications.error"),
}


@dataclass
class ListenerStats:
    batches: int = 0
    connections: int = 0  # more than one means the broker connection was lost and remade
    counts: IngestCounts = field(default_factory=IngestCounts)


class NotificationListener:
    """Consume, ingest, then acknowledge; stop when `stop` is set."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        region: str,
        transport_url: str,
        queue: str = "sws-events",
        durable_exchanges: bool = False,
        batch_size: int = 1000,
        batch_wait: float = 0.2,
        heartbeat: int = 30,
        on_batch: Callable[[IngestCounts], None] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._region = region
        self._url = transport_url
        self._queue_name = queue
        self._durable_exchanges = durable_exchanges
        self._batch_size = batch_size
        self._batch_wait = batch_wait
        self._heartbeat = heartbeat
        self._on_batch = on_batch
        self._pending: list[Any] = []
        self.stats = ListenerStats()

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set, reconnecting after a broker failure."""
        kombu = _kombu()
        while not stop.is_set():
            try:
                with kombu.Connection(_kombu_url(self._url), heartbeat=self._heartbeat) as conn:
                    conn.ensure_connection(max_retries=3)
                    self.stats.connections += 1
                    self._consume(conn, stop)
            except Exception as exc:  # broker gone or refused: wait, then reconnect
                if stop.is_set():
                    break
                if _durability_differs(exc):
                    log.error(
                        "RabbitMQ at %s holds the services' exchanges with another durability "
                        "(%s): SWS_EVENTS_DURABLE_EXCHANGES must match OpenStack's "
                        "amqp_durable_queues (it is %s here); retrying",
                        _safe(self._url), exc, str(self._durable_exchanges).lower(),
                    )
                else:
                    log.warning("RabbitMQ at %s failed (%s); reconnecting", _safe(self._url), exc)
                self._pending.clear()  # unacked messages return to the queue by themselves
                stop.wait(2.0)

    def _consume(self, conn: Any, stop: threading.Event) -> None:
        queue = self.declare(conn)
        with conn.Consumer(
            queues=[queue], on_message=self._on_message, prefetch_count=self._batch_size,
            no_ack=False,
        ):
            log.info("listening on queue %s at %s", self._queue_name, _safe(self._url))
            while not stop.is_set():
                # kombu sends heartbeats only when asked: without this the broker closes the
                # connection after two missed beats (every ~90 s), and unacked work is redone.
                conn.heartbeat_check()
                self._fill(conn)
                if self._pending:
                    self._flush()

    def _on_message(self, message: Any) -> None:
        self._pending.append(message)

    def declare(self, conn: Any) -> Any:
        """Declare the exchanges, the durable queue and its bindings (idempotent)."""
        kombu = _kombu()
        bindings = []
        for name, keys in BINDINGS.items():
            exchange = kombu.Exchange(name, type="topic", durable=self._durable_exchanges)
            exchange.declare(channel=conn.default_channel)
            bindings += [kombu.binding(exchange, routing_key=key) for key in keys]
        queue = kombu.Queue(self._queue_name, bindings=bindings, durable=True,
                            auto_delete=False)
        queue.declare(channel=conn.default_channel)
        return queue

    def _fill(self, conn: Any) -> None:
        deadline = time.monotonic() + self._batch_wait
        while len(self._pending) < self._batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                conn.drain_events(timeout=remaining)
            except TimeoutError:
                return

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        try:
            counts = service.ingest(
                db=self._db, envelopes=[m.body for m in batch], clock=self._clock,
                region=self._region, source="rabbitmq",
            )
        except Exception:
            log.exception("could not store a batch of %d; it goes back on the queue", len(batch))
            for message in batch:
                message.requeue()
            time.sleep(1.0)
            return
        for message in batch:  # only now: the batch is committed
            message.ack()
        self.stats.batches += 1
        self.stats.counts += counts
        if self._on_batch is not None:
            self._on_batch(counts)


def _kombu() -> Any:
    """kombu ships no type hints; it is reached through Any."""
    return importlib.import_module("kombu")


def _kombu_url(url: str) -> str:
    """oslo's `rabbit://` URLs are kombu's `amqp://`; the vhost path is kept."""
    return "amqp://" + url.split("://", 1)[1] if url.startswith("rabbit://") else url


def _safe(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def _durability_differs(exc: Exception) -> bool:
    """The broker refused our declaration of an exchange that exists with another `durable`."""
    text = str(exc)
    return "PRECONDITION_FAILED" in text and "'durable'" in text
