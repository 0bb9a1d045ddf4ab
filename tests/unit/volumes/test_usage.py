"""Volume usage for billing: GB-hours per type and snapshot GB-months, hour by hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sws.volumes.usage import points_of

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _event(minutes: float, action: str, size: int | None, kind: str = "volume") -> dict[str, Any]:
    return {"resource_type": kind, "resource_id": "v-1", "project_id": "acme",
            "region": "RegionOne", "occurred_at": T0 + timedelta(minutes=minutes),
            "action": action, "flavor_name": "local-ssd" if kind == "volume" else None,
            "root_gb": size}


def test_a_volume_created_at_half_past_and_resized_is_billed_by_the_gb_hour() -> None:
    rows = [_event(30, "create", 10), _event(90, "resize", 20), _event(150, "delete", 20)]
    points = points_of(rows, T0, T0 + timedelta(hours=4))
    assert [(p.hour_start.hour, p.item, p.item_type, p.quantity) for p in points] == [
        (10, "volume", "local-ssd", Decimal(5)),      # 10 GB for half an hour
        (11, "volume", "local-ssd", Decimal(15)),     # 10 GB, then 20 GB, half an hour each
        (12, "volume", "local-ssd", Decimal(10)),     # 20 GB until the delete at 12:30
    ]


def test_a_snapshot_is_billed_by_its_logical_size_per_gb_month() -> None:
    rows = [_event(0, "create", 31, kind="volume_snapshot")]
    (point,) = points_of(rows, T0, T0 + timedelta(hours=1))
    assert (point.item, point.item_type) == ("volume_snapshot", "gb_month")
    assert point.quantity == Decimal(31) * 3600 / (31 * 86400)  # December has 31 days
