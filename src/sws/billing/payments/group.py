"""Group commit of callbacks: events that arrive together in one process are applied together.

A request thread with an event to apply becomes a leader when no lane is busy, or when fewer
than `lanes` are and `spill` events wait (a lane opened for one event would cost a transaction
per callback). A leader takes every event queued so far (up to `limit`) and applies them in one
transaction (`applying.apply_batch`), then the next lot, until the queue is empty, or until
fewer than `spill` wait while another lane is busy: that lane takes them when its batch is
done, with those that arrived meanwhile (a leader that went on with the two or three events
queued in its own batch's wake made a transaction of them: half the batches were under ten
events). The other threads wait for their own event's result. Under load one transaction
carries many callbacks, so the per-transaction costs (the round trips, the commit) are shared;
alone, a callback is a batch of one, as before. Two lanes let one batch's Python work run
while the other lane waits on the database; they serialize only where their rows meet (the
accounts, the receipt counter), and both lock in the same order (checkouts, then accounts,
then counters). A batch that fails as a whole is applied again one event at a time, so one
bad event fails only its own request.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future

from sws.billing.invoices.service import Issuing
from sws.billing.payments.applying import Applied, apply_events
from sws.billing.payments.model import CallbackRejected, PaymentEvent
from sws.clock import Clock
from sws.db.engine import Database

Result = Applied | CallbackRejected


class GroupCommit:
    """Shared by the request threads of one process (the API's, the console's). `spill` is
    half the 40 threads anyio runs requests in: with every thread waiting on a callback, the
    two lanes carry some 20 events a batch each (at 8, some 13; a batch costs about as much
    Python in statements as 25 callbacks cost in their own rows)."""

    def __init__(self, limit: int = 200, lanes: int = 2, spill: int = 20) -> None:
        self.limit, self.lanes, self.spill = limit, lanes, spill
        self._lock = threading.Lock()
        self._queue: list[tuple[PaymentEvent, Future[Result]]] = []
        self._leaders = 0
        self.batches = 0  # transactions opened so far (what the bench divides by)

    def apply(
        self, *, db: Database, clock: Clock, event: PaymentEvent, issuing: Issuing | None
    ) -> Applied:
        """Apply `event` with whatever else is waiting; raise CallbackRejected as alone."""
        future: Future[Result] = Future()
        with self._lock:
            self._queue.append((event, future))
            lead = not self._leaders or (
                self._leaders < self.lanes and len(self._queue) >= self.spill
            )
            self._leaders += lead
        if lead:
            self._drain(db, clock, issuing)
        result = future.result()
        if isinstance(result, CallbackRejected):
            raise result
        return result

    def _drain(self, db: Database, clock: Clock, issuing: Issuing | None) -> None:
        while True:
            with self._lock:
                if not self._queue or (self._leaders > 1 and len(self._queue) < self.spill):
                    self._leaders -= 1  # a few left queued: the lane still busy takes them
                    return
                batch, self._queue = self._queue[: self.limit], self._queue[self.limit :]
                self.batches += 1
            _settle(db, clock, issuing, batch)


def _settle(
    db: Database,
    clock: Clock,
    issuing: Issuing | None,
    batch: Sequence[tuple[PaymentEvent, Future[Result]]],
) -> None:
    try:
        results = apply_events(db=db, clock=clock, events=[e for e, _ in batch], issuing=issuing)
    except Exception as error:  # handed to the waiting request(s)
        if len(batch) == 1:
            batch[0][1].set_exception(error)
            return
        for one in batch:  # find the one that fails; the others go through
            _settle(db, clock, issuing, [one])
        return
    for (_, future), result in zip(batch, results, strict=True):
        future.set_result(result)
