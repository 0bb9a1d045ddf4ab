"""Rating: which periods of a subscription are due, and what each costs. Pure.

`farm` walks a subscription's spans from its cursor and drafts one charge per due period:
- per_started_hour / daily: a clock hour (day) in the tenant's zone is charged in full as soon
  as any part of it is billable. The period belongs to the span billable at its first billable
  moment, so a resize at 12:10 from 0.42 to 1.67/hour charges 12:00-13:00 at 0.42 and switches
  to 1.67 at the next boundary, 13:00.
- per_second: the billable part of each clock hour is charged pro rata to the second at the
  price of the span it belongs to, so the same resize splits 12:00-13:00 into 10 minutes at
  0.42/hour and 50 minutes at 1.67/hour.
- monthly_prepaid: charged at the start of each period; periods renew on the anniversary of
  the first span of that item type, clamped to the month's end; no refund for a part month.
- A postpaid period is due once it has ended; a prepaid one once it has begun.
- A period that began before the cursor was already charged under another product: a switch
  of payment type takes effect at the new product's next period boundary.
- An optional monthly cap stops an hourly or daily product from costing more than the cap in a
  calendar month (tenant's zone); `CapState` carries the month's running total.

Billable time that no price covers is never silently free: `unpriced` cuts it into pieces of at
most one clock hour (the farmer keeps them as unrated usage), and `rate_gap` prices such a
piece once a price that covers it is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice
from zoneinfo import ZoneInfo

from sws.billing.model import (
    DAILY,
    MONTHLY_PREPAID,
    PER_SECOND,
    PER_STARTED_HOUR,
    Catalog,
    Product,
    quantize6,
)
from sws.billing.periods import (
    HOUR,
    anniversary_period,
    day_start,
    hour_start,
    month_key,
    next_day,
)
from sws.billing.segments import Span

SECONDS_PER_HOUR = Decimal(3600)
BYTES_PER_GB = Decimal(10) ** 9
_ONE = Decimal(1)
_ZERO = Decimal(0)
_MICRO = Decimal("0.000001")  # the ledger's 6 decimal places (quantize6)
_MEMO_TRIAL = 256  # misses before rating usage judges whether its memo pays


@dataclass(frozen=True, slots=True)
class Plan:
    """What rating needs to know about one subscription."""

    item: str
    region: str
    currency: str
    tz: ZoneInfo
    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class CapState:
    key: str | None = None
    spent: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Draft:
    """One period's charge, before it is written."""

    product: Product
    item_type: str
    period_start: datetime
    period_end: datetime
    quantity: Decimal
    amount: Decimal
    due_at: datetime | None = None  # when the period fell due: what the charge is dated at


@dataclass(frozen=True, slots=True)
class Farmed:
    drafts: tuple[Draft, ...]
    cursor: datetime | None
    due_at: datetime | None  # None: nothing more will ever be due
    cap: CapState


@dataclass(frozen=True, slots=True)
class _Step:
    span: Span
    at: datetime
    product: Product


@dataclass(frozen=True, slots=True)
class _Period:
    start: datetime
    end: datetime
    due_at: datetime
    quantity: Decimal


def farm(
    plan: Plan, catalog: Catalog, *, cursor: datetime | None, now: datetime, cap: CapState
) -> Farmed:
    """Draft every charge of `plan` due by `now`; `cursor` is where charging has reached."""
    t = cursor if cursor is not None else (plan.spans[0].start if plan.spans else None)
    drafts: list[Draft] = []
    while t is not None:
        step = _locate(plan, catalog, t)
        if not isinstance(step, _Step):
            return Farmed(tuple(drafts), _reached(drafts, cursor), _later(step, plan, now), cap)
        period = _period(plan, step)
        if period.start < (_reached(drafts, cursor) or period.start):
            t = period.end  # begun under another product: skip to its boundary
            continue
        if period.due_at > now:
            return Farmed(tuple(drafts), _reached(drafts, cursor), period.due_at, cap)
        draft, cap = _rate(plan, step, period, cap)
        drafts.append(draft)
        t = period.end
    return Farmed(tuple(drafts), _reached(drafts, cursor), None, cap)


def _later(look_again: datetime | None, plan: Plan, now: datetime) -> datetime | None:
    """When to look at an unpriced resource again: never before the next clock hour, so a pass
    never finds the same subscription due twice."""
    if look_again is None or look_again > now:
        return look_again
    return hour_start(now, plan.tz) + HOUR


def _reached(drafts: list[Draft], cursor: datetime | None) -> datetime | None:
    """Where charging has reached: the end of the last charged period."""
    return drafts[-1].period_end if drafts else cursor


def _locate(plan: Plan, catalog: Catalog, t: datetime) -> _Step | datetime | None:
    """The next billable moment at or after `t` with its product; else when to look again."""
    for span in plan.spans:
        if span.end is not None and span.end <= t:
            continue
        at = max(t, span.start)
        while True:
            product = catalog.find(plan.region, plan.item, span.item_type, plan.currency, at)
            if product is not None:
                return _Step(span, at, product)
            later = catalog.next_start(plan.region, plan.item, span.item_type, plan.currency, at)
            if later is None or (span.end is not None and later >= span.end):
                break
            at = later
        if span.end is None:
            return at + HOUR  # an unpriced running resource: look again in an hour
    return None


def _period(plan: Plan, step: _Step) -> _Period:
    payment, at, tz = step.product.payment_type, step.at, plan.tz
    if payment == PER_STARTED_HOUR:
        start = hour_start(at, tz)
        return _Period(start, start + HOUR, start + HOUR, _ONE)
    if payment == DAILY:
        start = day_start(at, tz)
        end = next_day(start, tz)
        return _Period(start, end, end, _ONE)
    if payment == MONTHLY_PREPAID:
        start, end = anniversary_period(_anchor(plan, step.span), at, tz)
        return _Period(start, end, at, _ONE)
    assert payment == PER_SECOND, payment
    hour_end = hour_start(at, tz) + HOUR
    end = hour_end if step.span.end is None else min(hour_end, step.span.end)
    return _Period(at, end, hour_end, _hours(end - at))


def _anchor(plan: Plan, span: Span) -> datetime:
    """Monthly periods renew on the anniversary of the first span of this item type."""
    return min(s.start for s in plan.spans if s.item_type == span.item_type)


def _hours(delta: timedelta) -> Decimal:
    return Decimal(delta // timedelta(microseconds=1)) / (SECONDS_PER_HOUR * 1_000_000)


def _rate(plan: Plan, step: _Step, period: _Period, cap: CapState) -> tuple[Draft, CapState]:
    product = step.product
    amount = quantize6(product.price.amount * period.quantity)
    if product.monthly_cap is not None:
        key = f"{product.id}:{month_key(period.start, plan.tz)}"
        spent = cap.spent if cap.key == key else Decimal(0)
        amount = min(amount, max(product.monthly_cap.amount - spent, Decimal(0)))
        cap = CapState(key, spent + amount)
    draft = Draft(
        product,
        step.span.item_type,
        period.start,
        period.end,
        quantize6(period.quantity),
        amount,
        period.due_at,
    )
    return draft, cap


# --- Unpriced billable time -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Gap:
    """Billable time `[start, end)` of one item type that no price covered, within one hour."""

    item_type: str
    start: datetime
    end: datetime

    @property
    def hours(self) -> Decimal:
        return quantize6(_hours(self.end - self.start))


@dataclass(frozen=True, slots=True)
class Unpriced:
    """The final unpriced pieces found, and where the next look must start."""

    gaps: tuple[Gap, ...]
    until: datetime
    recheck_at: datetime | None  # the end of the hour a growing piece is in


def unpriced(plan: Plan, catalog: Catalog, *, since: datetime | None, now: datetime) -> Unpriced:
    """Billable time after `since` that no price covers, cut at clock hours (tenant's zone).

    Only final pieces are returned: one that reaches `now` while its span goes on may still
    grow, so the next look starts where it starts.
    """
    gaps: list[Gap] = []
    for span in plan.spans:
        start = span.start if since is None else max(span.start, since)
        end = now if span.end is None else min(span.end, now)
        for a, b in _unpriced_stretches(plan, catalog, span.item_type, start, end):
            gaps += _by_hour(span.item_type, a, b, plan.tz)
    gaps = [g for g in gaps if not _charged_in_full(plan, catalog, g)]
    growing = [g for g in gaps if _still_growing(g, plan, now)]
    if not growing:
        return Unpriced(tuple(gaps), now, None)
    first = min(g.start for g in growing)
    final = tuple(g for g in gaps if g not in growing)
    return Unpriced(final, first, hour_start(first, plan.tz) + HOUR)


def _unpriced_stretches(
    plan: Plan, catalog: Catalog, item_type: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    stretches, at = [], start
    while at < end:
        product = catalog.find(plan.region, plan.item, item_type, plan.currency, at)
        if product is not None:
            at = end if product.valid_until is None else min(product.valid_until, end)
            continue
        later = catalog.next_start(plan.region, plan.item, item_type, plan.currency, at)
        upto = end if later is None else min(later, end)
        stretches.append((at, upto))
        at = upto
    return stretches


def _by_hour(item_type: str, start: datetime, end: datetime, tz: ZoneInfo) -> list[Gap]:
    pieces, at = [], start
    while at < end:
        upto = min(hour_start(at, tz) + HOUR, end)
        pieces.append(Gap(item_type, at, upto))
        at = upto
    return pieces


def _charged_in_full(plan: Plan, catalog: Catalog, gap: Gap) -> bool:
    """Whether the piece lies in an hour (day) that an hourly (daily) price charges in full
    anyway: a price or a flavor that starts part way through it."""
    hour = hour_start(gap.start, plan.tz)
    day = day_start(gap.start, plan.tz)
    return _priced_within(plan, catalog, hour, hour + HOUR, PER_STARTED_HOUR) or _priced_within(
        plan, catalog, day, next_day(day, plan.tz), DAILY
    )


def _priced_within(
    plan: Plan, catalog: Catalog, start: datetime, end: datetime, payment_type: str
) -> bool:
    for span in plan.spans:
        a, b = max(start, span.start), end if span.end is None else min(end, span.end)
        if a >= b:
            continue
        found = catalog.find(plan.region, plan.item, span.item_type, plan.currency, a)
        later = catalog.next_start(plan.region, plan.item, span.item_type, plan.currency, a)
        if found is None and later is not None and later < b:
            found = catalog.find(plan.region, plan.item, span.item_type, plan.currency, later)
        if found is not None and found.payment_type == payment_type:
            return True
    return False


def _still_growing(gap: Gap, plan: Plan, now: datetime) -> bool:
    """A piece that ends at `now` inside a span that goes on may still grow."""
    return gap.end == now and any(
        s.start <= gap.start and (s.end is None or s.end > now) for s in plan.spans
    )


def rate_gap(plan: Plan, catalog: Catalog, gap: Gap) -> Draft | None:
    """The charge for unrated time once a price covers it (None while none does).

    Hourly and daily products charge the whole period the piece falls in, monthly ones the
    anniversary period, per-second ones exactly the piece; the caller skips periods already
    charged, so a period is never charged twice.
    """
    product = catalog.find(plan.region, plan.item, gap.item_type, plan.currency, gap.start)
    if product is None:
        return None
    span = next(
        (
            s
            for s in plan.spans
            if s.item_type == gap.item_type
            and s.start <= gap.start
            and (s.end is None or gap.start < s.end)
        ),
        Span(gap.start, gap.end, gap.item_type),
    )
    period = _period(plan, _Step(span, gap.start, product))
    if product.payment_type == PER_SECOND:
        period = _Period(gap.start, gap.end, gap.end, _hours(gap.end - gap.start))
    draft, _ = _rate(plan, _Step(span, gap.start, product), period, CapState())
    return draft


def rate_unrated_usage(catalog: Catalog, point: UsagePoint, currency: str) -> Draft | None:
    """The charge for a metered hour that had no price, once one covers it."""
    product, amount = price_point(catalog, point, currency)
    if product is None:
        return None
    end = point.hour_start + HOUR
    return Draft(product, point.item_type, point.hour_start, end, point.quantity, amount, end)


# --- Metered usage (bandwidth, object storage) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class UsagePoint:
    """Metered usage of one resource in one clock hour, in the item type's unit."""

    project_id: str
    resource_id: str
    region: str
    item: str
    item_type: str
    hour_start: datetime
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Rated:
    """Usage points priced: two columns in the points' order, the product (None when no price
    covers the point) and the amount (0 when unpriced), 6 decimal places, half-up."""

    products: list[Product | None]
    amounts: list[Decimal]

    def pairs(self, start: int, stop: int) -> list[tuple[Product | None, Decimal]]:
        return list(zip(self.products[start:stop], self.amounts[start:stop], strict=True))


def price_point(
    catalog: Catalog, point: UsagePoint, currency: str
) -> tuple[Product | None, Decimal]:
    """What one usage point costs: its product's price times its quantity. The definition
    `rate_points` must match, point for point."""
    product = catalog.find(point.region, point.item, point.item_type, currency, point.hour_start)
    if product is None:
        return None, _ZERO
    return product, quantize6(product.price.amount * point.quantity)


def rate_points(points: Sequence[UsagePoint], catalog: Catalog, currency: str) -> Rated:
    """Price each usage point, as `price_point` would, at a fraction of its cost.

    The hot loop of usage rating:
    - each product is looked up once per run of points that share it;
    - points with the same product and quantity (every instance hour, most request counts)
      cost the same, so each is priced once and shared, while that pays: when most quantities
      differ (bandwidth bytes) the memo is dropped and each point is one multiply and quantize;
    - the result is two columns, not a tuple per point: 100,000 fresh tuples made the cyclic
      garbage collector, not the arithmetic, most of the cost.
    """
    rated = Rated([], [])
    find = _Finder(catalog, currency)
    done = _rate_memoised(points, find, rated)
    if done < len(points):
        _rate_each(islice(points, done, None), find, rated)
    return rated


def _rate_memoised(points: Sequence[UsagePoint], find: _Finder, rated: Rated) -> int:
    """Rate points, pricing each (product, quantity) once, until most quantities prove to
    differ; returns how many points were rated."""
    memo: dict[tuple[str, datetime, str, str, Decimal], tuple[Product | None, Decimal]] = {}
    add_product, add_amount = rated.products.append, rated.amounts.append
    misses = 0
    for n, point in enumerate(points):
        key = (point.item_type, point.hour_start, point.item, point.region, point.quantity)
        hit = memo.get(key)
        if hit is None:
            hit = memo[key] = find.price(point)
            misses += 1
            if misses > _MEMO_TRIAL and misses * 2 > n:
                add_product(hit[0])
                add_amount(hit[1])
                return n + 1
        add_product(hit[0])
        add_amount(hit[1])
    return len(points)


def _rate_each(points: Iterable[UsagePoint], find: _Finder, rated: Rated) -> None:
    """Rate points one multiply and quantize each (most quantities differ)."""
    add_product, add_amount = rated.products.append, rated.amounts.append
    for point in points:
        product = find.product(point)
        add_product(product)
        if product is None:
            add_amount(_ZERO)
        else:
            add_amount((product.price.amount * point.quantity).quantize(_MICRO, ROUND_HALF_UP))


class _Finder:
    """Prices points, looking each product up once per run of points that share it."""

    def __init__(self, catalog: Catalog, currency: str) -> None:
        self._catalog = catalog
        self._currency = currency
        self._found: dict[tuple[str, datetime, str, str], Product | None] = {}
        self._key: tuple[str, datetime, str, str] | None = None
        self._product: Product | None = None

    def product(self, point: UsagePoint) -> Product | None:
        key = (point.item_type, point.hour_start, point.item, point.region)
        if key != self._key:
            self._key = key
            if key not in self._found:
                self._found[key] = self._catalog.find(
                    point.region, point.item, point.item_type, self._currency, point.hour_start
                )
            self._product = self._found[key]
        return self._product

    def price(self, point: UsagePoint) -> tuple[Product | None, Decimal]:
        product = self.product(point)
        if product is None:
            return None, _ZERO
        return product, (product.price.amount * point.quantity).quantize(_MICRO, ROUND_HALF_UP)
