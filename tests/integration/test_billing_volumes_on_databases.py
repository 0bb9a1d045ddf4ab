"""Volumes on the bill on PostgreSQL and MariaDB: the worked example of
tests/unit/billing/test_volume_billing.py (100 GB of local SSD for 3 hours, a 100 GB snapshot
for half a month) gives the same charges, bill lines and closed-bill columns as on SQLite."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from sws.db.engine import Database, make_engine
from tests.servicedb import mariadb_database, postgres_database
from tests.unit.billing.volume_example import bill_a_volume_and_a_snapshot, check_the_volume_example

SERVERS = [
    pytest.param(postgres_database, marks=pytest.mark.postgres, id="postgresql"),
    pytest.param(mariadb_database, marks=pytest.mark.mariadb, id="mariadb"),
]


@pytest.mark.parametrize("server", SERVERS)
def test_100_gb_of_ssd_for_3_hours_and_a_snapshot_for_half_a_month(
    server: Callable[[], AbstractContextManager[str]],
) -> None:
    with server() as url:
        db = Database(make_engine(url))
        try:
            check_the_volume_example(bill_a_volume_and_a_snapshot(db))
        finally:
            db.engine.dispose()
