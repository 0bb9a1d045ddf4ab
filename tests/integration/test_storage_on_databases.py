"""The object-storage API suite again, on the machine's PostgreSQL and MariaDB.

The simulated store keeps object bodies (LargeBinary) and hourly usage upserts in the
database; this checks both engines the distributed mode runs on.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import cloud  # noqa: F401
from tests.api.test_storage import *  # noqa: F403
from tests.servicedb import mariadb_database, postgres_database


@pytest.fixture(params=["postgres", "mariadb"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    make = postgres_database if request.param == "postgres" else mariadb_database
    with make() as url:
        yield url
