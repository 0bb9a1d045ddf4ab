"""The free tier's prices: every catalog line of `*` gets a zero-priced twin in each free
region, so billing still meters and rates usage there (the month's GB-hours, the bills'
quantities) and charges nothing. A region's own price, set by the operator, is left alone."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sws.billing import service as billing
from sws.billing.model import ANY_REGION, Catalog, Product
from sws.clock import Clock
from sws.db.engine import Database
from sws.money import Money


def zero_prices(catalog: Catalog, regions: Iterable[str]) -> list[Product]:
    """The zero-priced lines the free regions still lack."""
    own = {(p.region, p.item, p.item_type, p.price.currency) for p in catalog.products}
    return [
        Product(
            region,
            p.item,
            p.item_type,
            p.payment_type,
            Money(Decimal(0), p.price.currency),
            p.valid_from,
        )
        for region in sorted(regions)
        for p in catalog.products
        if p.region == ANY_REGION
        and p.valid_until is None
        and (region, p.item, p.item_type, p.price.currency) not in own
    ]


def ensure_free_prices(*, db: Database, clock: Clock, regions: Iterable[str]) -> int:
    """Add the missing zero prices; how many were added (0 once they are all there)."""
    missing = zero_prices(billing.load_catalog(db=db), regions)
    return billing.add_prices(db=db, clock=clock, products=missing) if missing else 0
