"""Builders for billing tests: products, catalogs, events and plans."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sws.billing.model import Catalog, Product, make_product
from sws.billing.rating import Plan
from sws.billing.segments import Span
from sws.events.model import ResourceEvent

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def at(text: str) -> datetime:
    """A UTC moment from "2026-03-02 10:27" (seconds optional)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def product(
    item_type: str = "m1.small",
    price: str = "0.42",
    payment_type: str = "per_started_hour",
    *,
    item: str = "instance",
    currency: str = "CNY",
    valid_from: datetime = EPOCH,
    monthly_cap: str | None = None,
) -> Product:
    return make_product(
        region="*",
        item=item,
        item_type=item_type,
        payment_type=payment_type,
        price=Decimal(price),
        currency=currency,
        valid_from=valid_from,
        monthly_cap=Decimal(monthly_cap) if monthly_cap else None,
    )


def catalog(*products: Product) -> Catalog:
    return Catalog(tuple(products))


def plan(*spans: Span, item: str = "instance", zone: str = "UTC") -> Plan:
    return Plan(item=item, region="RegionOne", currency="CNY", tz=ZoneInfo(zone), spans=spans)


def event(
    message_id: str,
    action: str,
    when: datetime,
    *,
    resource_id: str = "vm-1",
    flavor: str = "m1.small",
    resource_type: str = "instance",
    project_id: str = "p-1",
) -> ResourceEvent:
    return ResourceEvent(
        message_id=message_id,
        event_type=f"instance.{action}.end",
        resource_type=resource_type,
        resource_id=resource_id,
        project_id=project_id,
        occurred_at=when,
        action=action,
        name=resource_id,
        flavor_name=flavor,
    )
