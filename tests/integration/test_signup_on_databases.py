"""The sign-up and password-reset API suite again, on PostgreSQL and on MariaDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.test_signup import *  # noqa: F403
from tests.servicedb import mariadb_database, postgres_database


@pytest.fixture(
    params=[
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    server = postgres_database if request.param == "postgresql" else mariadb_database
    with server() as url:
        yield url
