"""The size sampler `sws up` runs for real Swift: its schedule, its tenants, its failures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import pytest

from sws.clock import SimulatedClock
from sws.errors import Unavailable
from sws.storagefw.runtime import StorageSampling


class Swift:
    """A region's Swift as the sampler sees it: two containers per project it is asked about."""

    def __init__(self) -> None:
        self.rounds: list[list[str]] = []
        self.down = False

    def sample_storage(self, project_ids: Iterable[str]) -> int:
        if self.down:
            raise Unavailable("object storage usage cannot be written: connection refused")
        self.rounds.append(list(project_ids))
        return 2 * len(self.rounds[-1])


def test_every_tenant_is_sampled_once_per_interval(clock: SimulatedClock) -> None:
    north, tenants = Swift(), ["acme", "globex"]
    sampling = StorageSampling(clock=clock, samplers={"north": north},
                               tenant_ids=lambda: tenants, every=timedelta(minutes=5))
    assert sampling.tick() == 4  # the first tick samples at once
    for _ in range(4):  # ticks within the interval do nothing
        clock.advance(timedelta(minutes=1))
        assert sampling.tick() == 0
    tenants.append("initech")  # a tenant that signed up meanwhile is in the next round
    clock.advance(timedelta(minutes=1))
    assert sampling.tick() == 6
    assert north.rounds == [["acme", "globex"], ["acme", "globex", "initech"]]


def test_a_region_that_is_down_is_logged_and_the_others_are_sampled(
    clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    north, south = Swift(), Swift()
    north.down = True
    sampling = StorageSampling(clock=clock, samplers={"north": north, "south": south},
                               tenant_ids=lambda: ["acme"], every=timedelta(minutes=5))
    assert sampling.tick() == 2
    assert "object storage in north not sampled: object storage usage cannot be written" in (
        caplog.text
    )
    north.down = False
    clock.advance(timedelta(minutes=5))
    assert sampling.tick() == 4  # the next round samples it again
    assert (north.rounds, south.rounds) == ([["acme"]], [["acme"], ["acme"]])
