"""Where billing plugs into the console: prices on the launch form, the balance in the header;
and the header's tenant switcher, for a user in several tenants.

Both read `sws.billing.service`; a tenant without an account yet sees a zero balance, a flavor
without a price in the tenant's currency shows no price rather than an invented one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sws.billing import service as billing
from sws.billing.model import INSTANCE
from sws.drivers.base import Flavor
from sws.identity import team_tenants
from sws.money import Money
from sws.web.console.context import Session


@dataclass(frozen=True, slots=True)
class FlavorPrice:
    price: Money
    unit: str  # "hour", "day" or "month": what one `price` buys


@dataclass(frozen=True, slots=True)
class Balance:
    cash: Money
    coupons: Money
    status: str


def flavor_prices(session: Session, flavors: Sequence[Flavor]) -> Mapping[str, FlavorPrice]:
    """Price of each of `flavors` (by id) in the catalog now, for the session's region and
    currency."""
    db, now = session.container.db, session.container.clock.now()
    currency = billing.account_currency(db=db, tenant_id=session.tenant_id)
    catalog = billing.load_catalog(db=db)
    found = {}
    for flavor in flavors:
        product = catalog.find(session.region, INSTANCE, flavor.name, currency, now)
        if product is not None:
            found[flavor.id] = FlavorPrice(product.price, product.unit)
    return found


def balance(session: Session) -> Balance:
    """The tenant's cash and live coupons for the header ("0.00 … 9,389.93 coupons")."""
    account = billing.peek_account(db=session.container.db, clock=session.container.clock,
                                   tenant_id=session.tenant_id)
    if account is None:
        currency = billing.account_currency(db=session.container.db, tenant_id=session.tenant_id)
        zero = Money(Decimal(0), currency)
        return Balance(zero, zero, "ok")
    return Balance(account.balance, account.coupon_balance, account.status)


def tenants(session: Session) -> list[team_tenants.Place]:
    """The tenants the user may act in, when there is more than one to switch between."""
    found = team_tenants.places(db=session.container.db, caller=session.principal)
    return found if len(found) > 1 else []
