"""Leader-lease use cases: claim or renew a role, step down, and fence a leader's writes.

A process that runs a once-only role keeps a `Leadership` for it. `fence()` claims or renews
the lease when the renew interval has passed (one short transaction) and says whether this
process leads; `check(conn)`, called first inside each critical transaction, re-validates the
lease in that same transaction (a share lock on its row, so a takeover waits for the commit)
and raises `LeaseLost` when another process took over. Time comes from the injected Clock.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, Contended
from sws.leases import model
from sws.leases import repository as repo
from sws.leases.model import Fence, Lease, LeaseTerms

log = logging.getLogger("sws.leases")

ALARM_EVALUATOR = "alarm-evaluator"
MONTH_CLOSE = "month-close"


def reconciler(region: str) -> str:
    """The lease name of one region's reconciler."""
    return f"reconciler:{region}"


class LeaseLost(Conflict):
    """This process no longer leads the role: its write was refused and nothing was done."""


class Guard(Protocol):
    """What a critical section calls first inside each of its transactions."""

    def check(self, conn: Connection) -> None: ...


def holder_name() -> str:
    """This process, as lease holders are named: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(*, db: Database, clock: Clock, name: str, holder: str, terms: LeaseTerms) -> Fence | None:
    """Take or renew the lease; the fence of this term, or None while another leads."""
    now = clock.now()
    try:
        with db.begin() as conn:
            current = repo.load(conn, name, lock="update")
            lease = model.claim(current, name=name, holder=holder, now=now, ttl=terms.ttl)
            if lease is None:
                return None
            repo.save(conn, lease, now=now, new=current is None)
    except (Conflict, Contended, OperationalError) as error:  # a racing claim, a lock
        log.info("lease %s not claimed this time: %s", name, error)
        return None
    if current is None or current.epoch != lease.epoch:
        log.info("%s leads %s from now (epoch %d)", holder, name, lease.epoch)
    return lease.fence


def check(conn: Connection, fence: Fence, *, now: datetime, terms: LeaseTerms) -> None:
    """Inside a critical transaction: go on only if `fence` is still the live term."""
    repo.end_idle_transactions_after(conn, terms.ttl.total_seconds())
    if not model.admits(repo.load(conn, fence.name, lock="share"), fence, now):
        raise LeaseLost(
            f"{fence.holder} no longer leads {fence.name} (epoch {fence.epoch})", field="lease"
        )


def release(*, db: Database, clock: Clock, fence: Fence) -> None:
    """Step down at once, so a standby need not wait for the lease to expire."""
    now = clock.now()
    with db.begin() as conn:
        lease = model.released(repo.load(conn, fence.name, lock="update"), fence, now)
        if lease is not None:
            repo.save(conn, lease, now=now, new=False)


def lease_of(*, db: Database, name: str) -> Lease | None:
    """The role's lease as stored (live or not), for operators and tests."""
    with db.read() as conn:
        return repo.load(conn, name)


class Leadership:
    """One process's claim on one role: renewed when due, checked inside critical writes."""

    def __init__(
        self, *, db: Database, clock: Clock, name: str, terms: LeaseTerms, holder: str | None = None
    ) -> None:
        self.db, self.clock, self.name, self.terms = db, clock, name, terms
        self.holder = holder or holder_name()
        self._fence: Fence | None = None
        self._renew_at: datetime | None = None

    def fence(self) -> Fence | None:
        """This process's term if it leads (claiming or renewing when due), else None."""
        now = self.clock.now()
        if self._renew_at is None or now >= self._renew_at:
            self._renew_at = now + self.terms.renew
            self._fence = claim(
                db=self.db, clock=self.clock, name=self.name, holder=self.holder, terms=self.terms
            )
        return self._fence

    def check(self, conn: Connection) -> None:
        """Refuse (LeaseLost) unless this process still leads, checked in `conn`'s transaction.

        The term must also be the one the work began under: a leader that lost the lease and
        won it back (a new epoch) must not finish work it planned in the older term.
        """
        began_under = self._fence
        fence = self.fence()
        if fence is None or fence != began_under:
            raise LeaseLost(
                f"{self.holder} no longer leads {self.name} in the term its work began under",
                field="lease",
            )
        check(conn, fence, now=self.clock.now(), terms=self.terms)

    def lost(self) -> None:
        """Forget the term after a refused write; the next `fence()` asks the database again."""
        self._fence, self._renew_at = None, None

    def step_down(self) -> None:
        if self._fence is not None:
            release(db=self.db, clock=self.clock, fence=self._fence)
        self._fence = None
