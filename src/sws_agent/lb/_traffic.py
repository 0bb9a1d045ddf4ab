"""Bytes out per LB from HAProxy's per-backend counters, across reloads and reused spares."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Traffic:
    """Bytes each LB sent to clients, from HAProxy's per-backend `bout` counters.

    The counters are cumulative per worker and start at zero in a new worker (a reload), and
    a spare backend may serve another LB after its first is deleted. So the agent keeps, per
    backend, the value it last counted and the worker it came from, credits the difference to
    the LB that owned the backend, counts once more just before a reload or after freeing a
    backend, and hands the sums over with its health reports.
    """

    base: dict[str, int] = field(default_factory=dict)
    worker: int = 0
    pending: dict[str, int] = field(default_factory=dict)

    def count(self, worker: int, owners: dict[str, str | None], bout: dict[str, int]) -> None:
        if worker != self.worker:
            self.base, self.worker = {}, worker
        for name, now in bout.items():
            before = self.base.get(name, 0)
            delta = now - before if now >= before else now  # restarted counter: all new
            self.base[name] = now
            owner = owners.get(name)
            if owner is not None and delta > 0:
                self.pending[owner] = self.pending.get(owner, 0) + delta

    def take(self) -> dict[str, int]:
        taken, self.pending = self.pending, {}
        return taken

    def give_back(self, taken: dict[str, int]) -> None:
        for lb_id, amount in taken.items():
            self.pending[lb_id] = self.pending.get(lb_id, 0) + amount
