"""The free tier's prices: every catalog line of `*` gets a zero-priced twin in each free
region, so billing still meters and rates usage there (the month's GB-hours, the bills'
quantities) and charges nothing. A region's own price, set by the operator, is left alone."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

from sws.billing import service as billing
from sws.billing.model import ANY_REGION, Catalog, Product
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import SWSError
from sws.money import Money

log = logging.getLogger("sws.community")


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
    """Add the missing zero prices; how many were added (0 once they are all there).

    A zero price starts when its `*` line does, so a new free cloud never charges; where
    billing refuses that (the region already has charges at the old price), it starts now.
    """
    added = 0
    for product in zero_prices(billing.load_catalog(db=db), regions):
        added += _add(db, clock, product) or _add(
            db, clock, replace(product, valid_from=clock.now())
        )
    return added


def _add(db: Database, clock: Clock, product: Product) -> int:
    try:
        return billing.add_prices(db=db, clock=clock, products=[product])
    except SWSError as error:
        log.warning(
            "free price of %s in %s not added: %s", product.item_type, product.region, error.detail
        )
        return 0
