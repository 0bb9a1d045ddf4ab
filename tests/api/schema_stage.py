"""Schemathesis over /v1/openapi.json, as a member and as an admin (run by hand for now:
`pytest tests/api/schema_stage.py`): every built-in check
(no 5xx, statuses, content types, schemas and headers as documented, bad data refused, good
data accepted) against the ASGI app on SQLite. `SWS_SCHEMA_EXAMPLES` bounds the examples per
operation (docs/testing.md: the api tier's schema stage)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from sws.clock import SimulatedClock
from sws.config import Settings
from tests.api.conftest import Cloud, open_cloud

EXAMPLES = int(os.environ.get("SWS_SCHEMA_EXAMPLES", "5"))

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    home: Path = tmp_path_factory.mktemp("schema")
    config = Settings(home=home, database_url=f"sqlite:///{home / 'sws.db'}",
                      sim_task_seconds=3, demo_data=False)
    with open_cloud(config, SimulatedClock(datetime(2026, 3, 2, 10, 27, tzinfo=UTC))) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def api_schema(world: Cloud) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/v1/openapi.json", world.client.app)


@pytest.mark.parametrize("role", ["member", "admin"])
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_spec(case: schemathesis.Case, world: Cloud, role: str) -> None:
    headers = world.admin if role == "admin" else world.acme.headers
    case.call_and_validate(headers=headers)
