"""StackLab mode's leases on PostgreSQL: a free instance is warned, shelved and deleted on the
injected clock, renewed, and a step is taken once even when two workers race for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from sws.community import service as community
from tests.api.conftest import Cloud
from tests.api.test_community import (  # noqa: F401  (the fixtures and tests rerun here)
    PASS,
    free,
    lease,
    subjects,
    test_a_deleted_instance_cannot_be_renewed,
    test_a_lease_is_warned_then_shelved_then_deleted_on_the_clock,
    test_launches_over_the_rate_are_429_with_retry_after,
    test_renewing_gives_a_full_lease_from_now_and_unshelves,
)
from tests.servicedb import postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def test_racing_workers_warn_once(free: Cloud) -> None:  # noqa: F811
    """Four lease passes at the same moment: one warning mail, one claim."""
    booted = free.boot(free.acme, "race", "m1.tiny")
    free.settle(PASS)
    expires = datetime.fromisoformat(lease(free, booted["id"])["expires_at"])
    free.clock.advance(expires - timedelta(hours=2) - free.clock.now())
    terms = free.container.community.terms if free.container.community else None
    assert terms is not None
    barrier, reports, errors = threading.Barrier(4), [], []

    def one() -> None:
        barrier.wait()
        try:
            reports.append(
                community.lease_pass(
                    db=free.container.db,
                    clock=free.clock,
                    drivers=free.container.drivers(),
                    terms=terms,
                )
            )
        except BaseException as error:  # handed to the test thread
            errors.append(error)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.warned for r in reports) == 1
    free.container.mail_outbox.run_once()
    assert len(subjects(free, "alice@example.com")) == 1
