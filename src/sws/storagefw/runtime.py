"""The size sampler as the composition root wires it: every tenant's containers, on a schedule.

Real Swift keeps no history of stored bytes, so GB-months come from samples of each container's
size (`SwiftObjectStore.sample_storage`). `sws up`'s ticker calls `tick()` every second; a round
runs once `every` has passed since the last one. A region whose Swift or usage Redis is down is
logged and tried again next round; the hour simply has fewer samples.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Protocol

from sws.clock import Cadence, Clock
from sws.errors import SWSError

log = logging.getLogger("sws.storagefw")


class SizeSampler(Protocol):
    def sample_storage(self, project_ids: Iterable[str]) -> int: ...


class StorageSampling:
    """Samples every tenant's containers in every region with real Swift, every `every`."""

    def __init__(
        self,
        *,
        clock: Clock,
        samplers: Mapping[str, SizeSampler],
        tenant_ids: Callable[[], Sequence[str]],
        every: timedelta,
    ) -> None:
        self.clock, self.samplers, self.tenant_ids = clock, samplers, tenant_ids
        self.cadence = Cadence(every)

    def tick(self) -> int:
        """Containers sampled this tick (0 when no round was due)."""
        if not self.cadence.due(self.clock.now()):
            return 0
        projects = self.tenant_ids()
        sampled = 0
        for region, sampler in self.samplers.items():
            try:
                sampled += sampler.sample_storage(projects)
            except SWSError as exc:
                log.warning("object storage in %s not sampled: %s", region, exc.detail)
        return sampled
