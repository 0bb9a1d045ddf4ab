"""The month's GB-hours of a tenant (the seed's "Month's GB-Hours"): each hour an instance was
billed, at zero in a free region, times its flavor's RAM in GB. Read from billing's charges."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from sws.billing.tables import billing_charges
from sws.db.engine import Database

_C = billing_charges.c
HOUR = Decimal(3600)
MB_PER_GB = Decimal(1024)


def month_of(moment: datetime) -> str:
    """The bill month a moment falls in (UTC): `2026-03`."""
    return f"{moment:%Y-%m}"


def gb_hours(*, db: Database, tenant_id: str, month: str, ram_mb: Mapping[str, int]) -> Decimal:
    """RAM GB x hours of the tenant's instances billed in `month`; `ram_mb` by flavor name."""
    query = select(_C.item_type, _C.period_start, _C.period_end).where(
        _C.account_id == tenant_id, _C.bill_month == month, _C.item == "instance"
    )
    total = Decimal(0)
    with db.read() as conn:
        for flavor, start, end in conn.execute(query):
            seconds = Decimal(int((end - start).total_seconds()))
            total += seconds / HOUR * Decimal(ram_mb.get(flavor, 0)) / MB_PER_GB
    return total.quantize(Decimal("0.01"))
