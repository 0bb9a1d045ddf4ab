"""Billing values and rules: products, payment types, policies, coupons, low balance, bills.

Pure: no database, no web framework. Money is `Decimal` with a currency; a float is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sws.clock import check_moment
from sws.errors import Invalid
from sws.money import Money, check_currency

INSTANCE = "instance"
FLOATING_IP = "floating_ip"
LOAD_BALANCER = "load_balancer"
BANDWIDTH = "bandwidth"
OBJECT_STORAGE = "object_storage"
CDN = "cdn"
#: Volume usage items (sws.volumes.usage): GB-hours per volume type, snapshot GB-months of the
#: logical size (docs/billing.md#volumes-and-volume-snapshots).
VOLUME = "volume"
VOLUME_SNAPSHOT = "volume_snapshot"
VOLUME_USAGE_TYPES = {VOLUME: ("local-ssd", "local-hdd"), VOLUME_SNAPSHOT: ("gb_month",)}
#: Each item is a column of the frozen bills (`billing_bills`), in this order on a bill.
ITEMS = (INSTANCE, BANDWIDTH, CDN, FLOATING_IP, LOAD_BALANCER, OBJECT_STORAGE, VOLUME,
         VOLUME_SNAPSHOT)
#: Items whose cost comes from a resource's lifetime (events), not from metered usage.
LIFETIME_ITEMS = (INSTANCE, FLOATING_IP, LOAD_BALANCER)
#: Item types of usage items: bandwidth per GB out; object storage per GB-month, 10k requests
#: and GB out (egress).
USAGE_TYPES = {
    BANDWIDTH: ("gb_out",), CDN: ("gb_out",),
    OBJECT_STORAGE: ("gb_month", "requests_10k", "gb_out"),
    **VOLUME_USAGE_TYPES,
}
#: The unit of a usage item whose item types are not units: a volume's type is priced per GB-hour.
USAGE_UNITS = {VOLUME: "gb_hour"}
#: Items whose price may differ by ISP view: `gb_out.<view>` is that view's price, and a view
#: without its own price pays the plain `gb_out`.
VIEW_PRICED = (CDN,)
STANDARD = "standard"  # the one item type of a floating IP or a load balancer

PER_SECOND = "per_second"
PER_STARTED_HOUR = "per_started_hour"
DAILY = "daily"
MONTHLY_PREPAID = "monthly_prepaid"
PER_UNIT = "per_unit"  # metered usage: price per unit of the item type
PAYMENT_TYPES = (PER_SECOND, PER_STARTED_HOUR, DAILY, MONTHLY_PREPAID, PER_UNIT)
#: What one unit of a price is, per payment type (a per-second price is quoted per hour).
PRICE_UNITS = {
    PER_SECOND: "hour",
    PER_STARTED_HOUR: "hour",
    DAILY: "day",
    MONTHLY_PREPAID: "month",
}
PRICE_PLACES = 6
MAX_AMOUNT = Decimal(10) ** 18  # NUMERIC(24, 6) holds 18 digits before the point
ANY_REGION = "*"

PREPAID = "prepaid"
POSTPAID = "postpaid"
PAYMENT_MODES = (PREPAID, POSTPAID)

OK, LOW, GRACE, SUSPENDED = "ok", "low", "grace", "suspended"
#: Observe-only: the grace period is over, but enforcement is off for the account, so nothing
#: was stopped; it would be suspended the moment enforcement is turned on.
OVERDUE = "overdue"
ENFORCE, OBSERVE = "enforce", "observe"
ENFORCEMENTS = (ENFORCE, OBSERVE)


def check_price(amount: Decimal, *, name: str = "price") -> Decimal:
    """A catalog amount: a finite Decimal, not negative, with at most 6 decimal places."""
    if isinstance(amount, float) or not isinstance(amount, Decimal):
        raise Invalid(f"{name} must be a decimal string, not {type(amount).__name__}", field=name)
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
        raise Invalid(f"{name} must be at least 0 and below 10^18", field=name)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PRICE_PLACES:
        raise Invalid(f"{name} has more than {PRICE_PLACES} decimal places", field=name)
    return amount


def check_item(item: str, item_type: str) -> None:
    if item not in ITEMS:
        raise Invalid(f"unknown item {item!r}; one of {', '.join(ITEMS)}", field="item")
    if item in USAGE_TYPES and base_item_type(item, item_type) not in USAGE_TYPES[item]:
        allowed = ", ".join(USAGE_TYPES[item])
        raise Invalid(f"{item} has the item types {allowed}", field="item_type")
    if not item_type or len(item_type) > 64:
        raise Invalid("item_type must be 1 to 64 characters", field="item_type")


def base_item_type(item: str, item_type: str) -> str:
    """`gb_out` for `gb_out.<view>` of an item priced by ISP view; the item type otherwise."""
    if item in VIEW_PRICED:
        base, dot, view = item_type.partition(".")
        if dot and view.replace("-", "").replace("_", "").isalnum():
            return base
    return item_type


def quantize6(amount: Decimal) -> Decimal:
    """An amount as the ledger stores it: 6 decimal places, half-up."""
    return amount.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def round_line(amount: Decimal, currency: str) -> Decimal:
    """A bill line: half-up to the currency's minor unit."""
    return Money(amount, currency).rounded().amount


@dataclass(frozen=True, slots=True)
class Product:
    """What one unit of an item type costs in a region, how it is charged, and when."""

    region: str
    item: str
    item_type: str
    payment_type: str
    price: Money
    valid_from: datetime
    valid_until: datetime | None = None
    monthly_cap: Money | None = None

    @property
    def id(self) -> str:
        return product_id(
            self.region,
            self.item,
            self.item_type,
            self.payment_type,
            self.price.currency,
            self.valid_from,
        )

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.region, self.item, self.item_type, self.price.currency)

    def valid_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)

    @property
    def unit(self) -> str:
        return PRICE_UNITS.get(self.payment_type) or USAGE_UNITS.get(self.item, self.item_type)


def product_id(
    region: str, item: str, item_type: str, payment_type: str, currency: str, valid_from: datetime
) -> str:
    """A stable id: reloading the same catalog line finds the same product."""
    text = "|".join((region, item, item_type, payment_type, currency, valid_from.isoformat()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def make_product(
    *,
    region: str,
    item: str,
    item_type: str,
    payment_type: str,
    price: Decimal,
    currency: str,
    valid_from: datetime,
    monthly_cap: Decimal | None = None,
) -> Product:
    """Validate one catalog line; every error names its field."""
    check_item(item, item_type)
    check_currency(currency)
    valid_from = check_moment(valid_from, field="valid_from")
    if payment_type not in PAYMENT_TYPES:
        raise Invalid(f"unknown payment type {payment_type!r}", field="payment_type")
    if (payment_type == PER_UNIT) != (item in USAGE_TYPES):
        raise Invalid(f"{item} cannot be charged {payment_type}", field="payment_type")
    cap = (
        None
        if monthly_cap is None
        else Money(check_price(monthly_cap, name="monthly_cap"), currency)
    )
    if cap is not None and payment_type in (MONTHLY_PREPAID, PER_UNIT):
        raise Invalid("a monthly cap is for hourly and daily products", field="monthly_cap")
    return Product(
        region,
        item,
        item_type,
        payment_type,
        Money(check_price(price), currency),
        valid_from,
        None,
        cap,
    )


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every product, looked up by (region, item, item type, currency) and time."""

    products: tuple[Product, ...]
    _index: dict[tuple[str, str, str, str], list[Product]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        for product in sorted(self.products, key=lambda p: p.valid_from):
            self._index.setdefault(product.key, []).append(product)

    def find(
        self, region: str, item: str, item_type: str, currency: str, at: datetime
    ) -> Product | None:
        """The product in effect at `at`; a region's own price wins over the `*` price, and an
        ISP view's own price (`gb_out.<view>`) over the plain one."""
        for where in (region, ANY_REGION):
            for product in self._index.get((where, item, item_type, currency), ()):
                if product.valid_at(at):
                    return product
        base = base_item_type(item, item_type)
        return None if base == item_type else self.find(region, item, base, currency, at)

    def next_start(
        self, region: str, item: str, item_type: str, currency: str, after: datetime
    ) -> datetime | None:
        """When the next price for this key starts after `after`, if one is scheduled."""
        starts = [
            p.valid_from
            for where in (region, ANY_REGION)
            for p in self._index.get((where, item, item_type, currency), ())
            if p.valid_from > after
        ]
        return min(starts, default=None)


def close_previous(existing: Sequence[Product], new: Product) -> list[Product]:
    """Products of `new`'s key whose open end must stop where `new` starts."""
    return [
        p
        for p in existing
        if p.key == new.key
        and p.valid_from < new.valid_from
        and (p.valid_until is None or p.valid_until > new.valid_from)
    ]


@dataclass(frozen=True, slots=True)
class ItemPolicy:
    """Whether a stopped (powered off, suspended, paused, shelved) or offloaded resource pays."""

    charge_stopped: bool = True
    charge_offloaded: bool = False


DEFAULT_POLICIES = {
    INSTANCE: ItemPolicy(charge_stopped=True, charge_offloaded=False),
    FLOATING_IP: ItemPolicy(charge_stopped=True, charge_offloaded=True),
    LOAD_BALANCER: ItemPolicy(charge_stopped=True, charge_offloaded=True),
}


@dataclass(frozen=True, slots=True)
class BillingPolicy:
    """Operator settings that are not prices: grace period, month close delay, defaults."""

    grace: timedelta = timedelta(hours=72)
    close_delay: timedelta = timedelta(days=3)
    low_balance_threshold: Decimal = Decimal("10")
    default_currency: str = "CNY"
    defaults: AccountDefaults = field(default_factory=lambda: AccountDefaults())


@dataclass(frozen=True, slots=True)
class AccountDefaults:
    """How an account SWS creates for a project first seen pays, and whether it is enforced.

    The currency and time zone apply only to projects SWS has no tenant record of (the tenant's
    own win); `enforcement` observe means bills accrue but nothing is ever suspended.
    """

    payment_mode: str = PREPAID
    credit_limit: Decimal = Decimal(0)
    currency: str = "CNY"
    timezone: str = "UTC"
    enforcement: str = ENFORCE

    def __post_init__(self) -> None:
        if self.payment_mode not in PAYMENT_MODES:
            raise Invalid(f"payment_mode is one of {', '.join(PAYMENT_MODES)}",
                          field="payment_mode")
        if self.enforcement not in ENFORCEMENTS:
            raise Invalid(f"enforcement is one of {', '.join(ENFORCEMENTS)}", field="enforcement")
        check_price(self.credit_limit, name="credit_limit")
        check_currency(self.currency)
        try:
            ZoneInfo(self.timezone)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise Invalid(f"unknown time zone {self.timezone!r}", field="timezone") from exc


# --- Coupons and the ledger ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Coupon:
    id: str
    account_id: str
    amount: Money
    remaining: Money
    expires_at: datetime
    items: frozenset[str]  # empty: every item

    def usable_for(self, item: str, at: datetime) -> bool:
        live = at < self.expires_at and self.remaining.amount > 0
        return live and (not self.items or item in self.items)


@dataclass(frozen=True, slots=True)
class Spend:
    """One part of paying a charge: from a coupon (`coupon_id`) or from cash (None)."""

    coupon_id: str | None
    amount: Decimal


def spending_order(coupons: Iterable[Coupon], item: str, at: datetime) -> list[Coupon]:
    """Coupons that may pay for `item` at `at`, the soonest to expire first."""
    usable = [c for c in coupons if c.usable_for(item, at)]
    return sorted(usable, key=lambda c: (c.expires_at, c.id))


def split_payment(amount: Decimal, coupons: Sequence[Coupon]) -> list[Spend]:
    """Pay `amount` (>= 0) from `coupons` in order, then cash: coupons are spent before cash."""
    spends, left = [], amount
    for coupon in coupons:
        if left <= 0:
            break
        part = min(left, coupon.remaining.amount)
        spends.append(Spend(coupon.id, part))
        left -= part
    if left > 0 or not spends:
        spends.append(Spend(None, left))
    return spends


@dataclass(frozen=True, slots=True)
class AccountStanding:
    """What the low-balance rules look at."""

    payment_mode: str
    cash: Decimal
    coupons: Decimal
    credit_limit: Decimal
    threshold: Decimal
    status: str
    grace_until: datetime | None
    enforced: bool = True

    @property
    def available(self) -> Decimal:
        credit = self.credit_limit if self.payment_mode == POSTPAID else Decimal(0)
        return self.cash + self.coupons + credit


@dataclass(frozen=True, slots=True)
class Transition:
    """The next low-balance status, and the audited steps that lead to it."""

    status: str
    grace_until: datetime | None
    steps: tuple[str, ...] = ()

    @property
    def suspend(self) -> bool:
        return "suspended" in self.steps

    @property
    def resume(self) -> bool:
        return "resumed" in self.steps


def next_standing(standing: AccountStanding, *, now: datetime, grace: timedelta) -> Transition:
    """Low balance: notify at the threshold, grace at zero, suspend after it, resume on funds.

    An account that is not enforced goes `overdue` where it would be suspended: recorded once,
    nothing stopped; turning enforcement on suspends it at its next review.
    """
    available, status = standing.available, standing.status
    resumed = ("resumed",) if status == SUSPENDED else ()
    if available > standing.threshold:
        owing = status in (LOW, GRACE, OVERDUE)
        return Transition(OK, None, resumed + (("recovered",) if owing else ()))
    if available > 0:
        return Transition(LOW, None, resumed + (() if status == LOW else ("notified",)))
    if status == SUSPENDED:
        return Transition(SUSPENDED, standing.grace_until)
    if status not in (GRACE, OVERDUE) or standing.grace_until is None:
        return Transition(GRACE, now + grace, ("grace_started",))
    if now < standing.grace_until:
        return Transition(GRACE, standing.grace_until)
    if standing.enforced:
        return Transition(SUSPENDED, standing.grace_until, ("suspended",))
    steps = () if status == OVERDUE else ("suspension_withheld",)
    return Transition(OVERDUE, standing.grace_until, steps)


# --- Bills ----------------------------------------------------------------------------------

CATEGORIES = ITEMS


@dataclass(frozen=True, slots=True)
class ChargeRow:
    """A charge or an adjustment, as bills read it."""

    item: str
    item_type: str
    resource_id: str
    resource_name: str
    unit: str
    unit_price: Decimal
    quantity: Decimal
    amount: Decimal
    period_start: datetime
    period_end: datetime
    kind: str  # "charge" | "adjustment"


@dataclass(frozen=True, slots=True)
class BillLine:
    kind: str
    type: str
    item_type: str
    resource_id: str
    resource_name: str
    unit_price: Decimal
    unit: str
    start: datetime
    end: datetime
    quantity: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class Bill:
    account_id: str
    month: str
    currency: str
    closed: bool
    lines: tuple[BillLine, ...]

    @property
    def total(self) -> Decimal:
        """The sum of the rounded lines, never a rounding of the sum."""
        return sum((line.total for line in self.lines), Decimal(0))

    def category(self, item: str) -> Decimal:
        return sum((line.total for line in self.lines if line.type == item), Decimal(0))


def bill_lines(rows: Iterable[ChargeRow], currency: str) -> tuple[BillLine, ...]:
    """One line per resource, product price and kind; each line rounded half-up."""
    groups: dict[tuple[str, str, str, str, Decimal, str], list[ChargeRow]] = {}
    for row in rows:
        key = (row.kind, row.item, row.item_type, row.resource_id, row.unit_price, row.unit)
        groups.setdefault(key, []).append(row)
    lines = [_line(key, group, currency) for key, group in groups.items()]
    return tuple(
        sorted(
            lines, key=lambda line: (line.kind != "charge", line.type, line.start, line.resource_id)
        )
    )


def _line(
    key: tuple[str, str, str, str, Decimal, str], rows: list[ChargeRow], currency: str
) -> BillLine:
    kind, item, item_type, resource_id, unit_price, unit = key
    return BillLine(
        kind=kind,
        type=item,
        item_type=item_type,
        resource_id=resource_id,
        resource_name=rows[-1].resource_name,
        unit_price=unit_price,
        unit=unit,
        start=min(r.period_start for r in rows),
        end=max(r.period_end for r in rows),
        quantity=sum((r.quantity for r in rows), Decimal(0)),
        total=round_line(sum((r.amount for r in rows), Decimal(0)), currency),
    )
