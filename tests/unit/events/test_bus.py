"""The in-process bus delivers in order, in batches, and loses nothing when a consumer fails."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sws.events.bus import Envelope, InProcessBus


def test_batches_arrive_in_order() -> None:
    bus = InProcessBus(batch_size=2)
    seen: list[list[int]] = []
    bus.subscribe(lambda batch: seen.append([e["n"] for e in batch]))
    for n in range(5):
        bus.publish({"n": n})
    assert bus.flush() == 5
    assert seen == [[0, 1], [2, 3], [4]]
    assert bus.pending == 0


def test_a_failing_consumer_gets_the_same_batch_again() -> None:
    bus = InProcessBus(batch_size=10)
    received: list[int] = []
    failures = iter([True, False])

    def flaky(batch: Sequence[Envelope]) -> None:
        if next(failures):
            raise RuntimeError("database went away")
        received.extend(e["n"] for e in batch)

    bus.subscribe(flaky)
    for n in range(3):
        bus.publish({"n": n})
    with pytest.raises(RuntimeError):
        bus.flush()
    assert bus.pending == 3
    bus.flush()
    assert received == [0, 1, 2]
