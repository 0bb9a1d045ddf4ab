"""The whole API suite again, on the machine's MariaDB instead of SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import cloud  # noqa: F401
from tests.api.test_account import *  # noqa: F403
from tests.api.test_auth import *  # noqa: F403
from tests.api.test_bad_input import *  # noqa: F403
from tests.api.test_billing import *  # noqa: F403
from tests.api.test_conventions import *  # noqa: F403
from tests.api.test_errors import *  # noqa: F403
from tests.api.test_limits import *  # noqa: F403
from tests.api.test_metering import *  # noqa: F403
from tests.api.test_quota_requests import *  # noqa: F403
from tests.api.test_regions import *  # noqa: F403
from tests.api.test_servers import *  # noqa: F403
from tests.api.test_teams import *  # noqa: F403
from tests.api.test_tenancy import *  # noqa: F403
from tests.servicedb import mariadb_database

pytestmark = pytest.mark.mariadb


@pytest.fixture
def database_url() -> Iterator[str]:
    with mariadb_database() as url:
        yield url
