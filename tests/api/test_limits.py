"""Query parameters at the edge of their types: each is a 4xx problem naming it, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Cloud

BEYOND_64_BITS = "9223372036854775808"


def _problem(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def _collect(cloud: Cloud, minutes: int) -> None:
    for _ in range(minutes * 6):
        cloud.settle(10)


@pytest.mark.parametrize("path", ["audit", "dead-letters"])
def test_a_marker_beyond_a_64_bit_integer_is_400(cloud: Cloud, path: str) -> None:
    response = cloud.client.get(f"/v1/admin/{path}?marker={BEYOND_64_BITS}0", headers=cloud.admin)
    assert _problem(response, 400)["field"] == "marker"


@pytest.mark.parametrize("path", ["audit", "dead-letters", "resources"])
def test_a_limit_beyond_a_64_bit_integer_is_422(cloud: Cloud, path: str) -> None:
    response = cloud.client.get(f"/v1/admin/{path}?limit={BEYOND_64_BITS}", headers=cloud.admin)
    assert _problem(response)["field"] == "limit"


@pytest.mark.parametrize(
    ("query", "field", "minutes"),
    [
        pytest.param("to=9999-12-31T23:59:59Z", "to", 0, id="ending-in-the-last-second-of-9999"),
        pytest.param("from=0001-01-02T00:00:00Z&to=0001-01-03T00:00:00Z", "to", 2,
                     id="in-year-1-even-where-samples-are-stored"),
        # without `from`, the day before `to` would fall before the earliest time SWS takes
        pytest.param("to=1970-01-01T00:00:00Z", "from", 0, id="to-1970-has-no-day-before-it"),
    ],
)
def test_a_series_outside_the_bounds_is_422_naming_the_field(
    cloud: Cloud, query: str, field: str, minutes: int
) -> None:
    server = cloud.boot(cloud.acme)
    _collect(cloud, minutes)
    response = cloud.client.get(
        f"/v1/metrics/{server['id']}/cpu_util?{query}", headers=cloud.acme.headers
    )
    assert _problem(response)["field"] == field


def test_a_series_still_answers_inside_the_bounds(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    _collect(cloud, 2)
    response = cloud.client.get(
        f"/v1/metrics/{server['id']}/cpu_util?granularity=1m", headers=cloud.acme.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["points"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                                    "9999-12-31T23:59:59-05:00"])
def test_admin_bandwidth_refuses_times_outside_the_bounds(cloud: Cloud, moment: str) -> None:
    response = cloud.client.get(
        "/v1/admin/metering/bandwidth", params={"from": "2026-03-01T00:00:00Z", "to": moment},
        headers=cloud.admin,
    )
    assert _problem(response)["field"] == "to"
