"""The event bus port and its in-process implementation.

Producers publish oslo.messaging envelopes (`{"oslo.version": "2.0", "oslo.message": "<json>"}`)
exactly as they travel over RabbitMQ. The in-process bus queues them; `flush()` hands them to
subscribers in batches, so one consumer transaction can apply many notifications.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

Envelope = Mapping[str, Any]
BatchHandler = Callable[[Sequence[Envelope]], object]


class EventBus(Protocol):
    def publish(self, envelope: Envelope) -> None: ...


class InProcessBus:
    """A queue in memory; subscribers receive batches when `flush()` runs."""

    def __init__(self, batch_size: int = 2000) -> None:
        self._queue: deque[Envelope] = deque()
        self._handlers: list[BatchHandler] = []
        self._batch_size = batch_size
        self._flushing = threading.Lock()

    def publish(self, envelope: Envelope) -> None:
        self._queue.append(envelope)

    def subscribe(self, handler: BatchHandler) -> None:
        self._handlers.append(handler)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def flush(self) -> int:
        """Deliver everything queued so far; returns how many envelopes went out."""
        delivered = 0
        with self._flushing:
            while self._queue:
                batch = self._take_batch()
                try:
                    for handler in self._handlers:
                        handler(batch)
                except Exception:
                    # Put the batch back: consumers are idempotent, so a retry is safe.
                    self._queue.extendleft(reversed(batch))
                    raise
                delivered += len(batch)
        return delivered

    def _take_batch(self) -> list[Envelope]:
        batch: list[Envelope] = []
        while self._queue and len(batch) < self._batch_size:
            batch.append(self._queue.popleft())
        return batch
