"""Month-to-date cost estimate: the month's charges plus what running resources have accrued."""

# What it is (docs/billing.md#the-month-to-date-estimate):
# - charged: the open month's charges and adjustments, grouped into the bill's lines;
# - accrued: what the farmer will charge for time already used but not yet due (the started
#   hour of a per-started-hour instance, the seconds of a per-second one, the started day of a
#   load balancer), drafted by the farmer's own `rating.farm` on the subscription's spans cut at
#   now, so there is no second pricing rule; the drafts join the bill's lines before rounding;
# - projected: the month to date plus what the resources running now will cost until the
#   month's end at the catalog's prices (`rating.farm` again, on their open span carried to the
#   month's end), plus metered usage at its average rate so far this month.
# It is never a charge: nothing is written, and the bill stays the truth.

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sws.billing import repository as repo
from sws.billing import service
from sws.billing.model import (
    ITEMS,
    LIFETIME_ITEMS,
    MONTHLY_PREPAID,
    Catalog,
    quantize6,
)
from sws.billing.periods import HOUR, hour_start, month_bounds, month_key
from sws.billing.rating import CapState, Draft, Farmed, Plan, farm
from sws.billing.segments import Span, spans_from_json
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import NotFound
from sws.money import MINOR_UNITS, Money

#: Every period that began before now has fallen due by now + this (a local day is at most 25
#: hours long), so `farm` drafts all of them when asked for this far ahead.
DUE_WITHIN = timedelta(days=2)
USAGE_ITEMS = tuple(item for item in ITEMS if item not in LIFETIME_ITEMS)
CHARGE = "charge"
LineKey = tuple[str, str, str, str, Decimal, str]  # kind, item, item type, resource, price, unit


@dataclass(frozen=True, slots=True)
class CategoryCost:
    """One of the bill's categories: on the bill so far, month to date, and projected."""

    item: str
    charged: Money
    total: Money
    projected: Money

    @property
    def accrued(self) -> Money:
        return self.total - self.charged


@dataclass(frozen=True, slots=True)
class DayCost:
    """One day of the month (tenant's zone): the cost of the periods that began on it."""

    day: date
    amounts: Mapping[str, Decimal]  # by item, 6 places; missing: nothing

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), Decimal(0))


@dataclass(frozen=True, slots=True)
class Estimate:
    """A tenant's month so far and its projection. Not a charge: the bill is the truth."""

    month: str
    currency: str
    as_of: datetime
    start: datetime
    end: datetime
    categories: tuple[CategoryCost, ...]
    days: tuple[DayCost, ...]

    def _sum(self, name: str) -> Money:
        return Money(sum((getattr(c, name).amount for c in self.categories), Decimal(0)),
                     self.currency)

    @property
    def charged(self) -> Money:
        return self._sum("charged")

    @property
    def total(self) -> Money:
        return self._sum("total")

    @property
    def accrued(self) -> Money:
        return self.total - self.charged

    @property
    def projected(self) -> Money:
        return self._sum("projected")

    def category(self, item: str) -> CategoryCost:
        return next(c for c in self.categories if c.item == item)


@dataclass(frozen=True, slots=True)
class Terms:
    """What the estimate needs of the account: currency, zone and the last closed month."""

    currency: str
    tz: ZoneInfo
    last_closed_month: str | None = None

    def bill_month(self, period_start: datetime) -> str:
        """The month the farmer bills a period in (`service.open_month`)."""
        month = month_key(period_start, self.tz)
        return service.open_month({"last_closed_month": self.last_closed_month}, month)


@dataclass(frozen=True, slots=True)
class Running:
    """Lifetime subscriptions that may still owe something and are rated alike: the same item,
    region, spans (as `farm` sees them from the cursor), cursor and monthly cap state."""

    item: str
    region: str
    resource_ids: tuple[str, ...]
    spans: tuple[Span, ...]
    cursor: datetime | None
    cap: CapState = field(default_factory=CapState)


@dataclass(frozen=True, slots=True)
class Charged:
    """The month's charges from the database: by bill line, and by item and period start."""

    lines: Mapping[LineKey, Decimal]
    hours: Sequence[tuple[str, datetime, Decimal]]


# --- Use cases ------------------------------------------------------------------------------


def month_to_date(*, db: Database, clock: Clock, tenant_id: str) -> Estimate:
    """The tenant's estimate for the current month (in its billing zone): four queries."""
    now = clock.now()
    with db.read() as conn:
        terms = _terms(conn, tenant_id)
        month = month_key(now, terms.tz)
        catalog = Catalog(tuple(repo.all_products(conn)))
        lines = repo.month_line_sums(conn, tenant_id, month)
        hours = repo.month_hour_sums(conn, tenant_id, month)
        subs = repo.owing_subscriptions(conn, tenant_id, items=LIFETIME_ITEMS)
    by_hour = [(r["item"], r["period_start"], r["amount"]) for r in hours]
    charged = Charged(_line_map(lines), by_hour)
    return estimate(terms=terms, month=month, now=now, catalog=catalog, charged=charged,
                    running=running_groups(subs, catalog))


def resource_to_date(
    *, db: Database, clock: Clock, tenant_id: str, item: str, resource_id: str
) -> Money:
    """One resource's month to date (an instance's page): its bill lines and its accrual."""
    now = clock.now()
    with db.read() as conn:
        terms = _terms(conn, tenant_id)
        month = month_key(now, terms.tz)
        lines = repo.month_line_sums(conn, tenant_id, month, resource_id=resource_id)
        subs = repo.owing_subscriptions(conn, tenant_id, items=(item,), resource_id=resource_id)
        catalog = Catalog(tuple(repo.all_products(conn))) if subs else Catalog(())
    found = estimate(terms=terms, month=month, now=now, catalog=catalog,
                     charged=Charged(_line_map(lines), ()),
                     running=running_groups(subs, catalog), project=False)
    return found.total


def _terms(conn: Any, tenant_id: str) -> Terms:
    row = repo.accounts(conn, [tenant_id]).get(tenant_id)
    if row is not None:
        return Terms(row["currency"], ZoneInfo(row["timezone"]), row["last_closed_month"])
    profile = repo.tenant_profiles(conn, [tenant_id]).get(tenant_id)
    if profile is None:
        raise NotFound(f"tenant {tenant_id} not found", field="tenant")
    return Terms(profile[0], ZoneInfo(profile[1]))


def _line_map(rows: Iterable[Mapping[Any, Any]]) -> dict[LineKey, Decimal]:
    found: dict[LineKey, Decimal] = {}
    for r in rows:
        key = (r["kind"], r["item"], r["item_type"], r["resource_id"], r["unit_price"], r["unit"])
        found[key] = found.get(key, Decimal(0)) + r["amount"]
    return found


#: The spans of a resource that has run as one item type since it was created (most of them).
_ONE_OPEN_SPAN = re.compile(r'\[\["([^"\\]+)", null, "([^"\\]+)"\]\]')


def running_groups(rows: Iterable[Mapping[Any, Any]], catalog: Catalog) -> list[Running]:
    """Subscription rows grouped by what rating them depends on, so resources that ran alike
    since their cursor are rated once: a thousand instances of a flavor are one `farm`."""
    monthly = _monthly(catalog)
    groups: dict[tuple[Any, ...], tuple[Mapping[Any, Any], list[str]]] = {}
    for row in rows:
        key = _group_key(row, monthly)
        if key not in groups:
            groups[key] = (row, [])
        groups[key][1].append(row["resource_id"])
    return [_running(key, row, ids) for key, (row, ids) in groups.items()]


def _group_key(row: Mapping[Any, Any], monthly: set[tuple[str, str]]) -> tuple[Any, ...]:
    """One open span since before the cursor (and no monthly anniversary to keep): only its
    item type matters from the cursor on. Anything else keeps its spans as they are."""
    cursor, item = row["cursor"], row["item"]
    common = (item, row["region"], cursor, row["cap_key"], row["cap_spent"])
    found = _ONE_OPEN_SPAN.fullmatch(row["spans"]) if cursor is not None else None
    if (found is not None and (item, found.group(2)) not in monthly
            and datetime.fromisoformat(found.group(1)) <= cursor):
        return ("open", found.group(2), *common)
    return ("spans", row["spans"], *common)


def _running(key: tuple[Any, ...], row: Mapping[Any, Any], ids: list[str]) -> Running:
    cursor = row["cursor"]
    if key[0] == "open":
        spans: tuple[Span, ...] = (Span(cursor, None, key[1]),)
    else:
        spans = tuple(spans_from_json(row["spans"]))
    cap = CapState(row["cap_key"], Decimal(row["cap_spent"]))
    return Running(row["item"], row["region"], tuple(ids), spans, cursor, cap)


def _monthly(catalog: Catalog) -> set[tuple[str, str]]:
    """(item, item type) of the monthly products: their periods renew on the anniversary of
    a resource's first span, so time before the cursor still matters to them."""
    return {(p.item, p.item_type) for p in catalog.products if p.payment_type == MONTHLY_PREPAID}


# --- The estimate (pure) --------------------------------------------------------------------


def estimate(
    *, terms: Terms, month: str, now: datetime, catalog: Catalog, charged: Charged,
    running: Sequence[Running], project: bool = True,
) -> Estimate:
    """The month to date: `charged`'s lines with each running resource's accrued drafts added
    (then rounded per line, as the bill rounds them), and the projection to the month's end."""
    start, end = month_bounds(month, terms.tz)
    rater = _Rater(catalog, terms, now, end)
    lines = dict(charged.lines)
    extra: dict[str, Decimal] = {}
    days = _Days(terms.tz, start, end)
    for item, at, amount in charged.hours:
        days.add(item, at, amount)
    for sub in running:
        drafts, cap = rater.accrued(sub)
        count = len(sub.resource_ids)
        for draft in drafts:
            if terms.bill_month(draft.period_start) != month:
                continue
            price, unit = draft.product.price.amount, draft.product.unit
            for resource_id in sub.resource_ids:
                key = (CHARGE, sub.item, draft.item_type, resource_id, price, unit)
                lines[key] = lines.get(key, Decimal(0)) + draft.amount
            days.add(sub.item, draft.period_start, draft.amount * count)
        if project:
            more = rater.ahead(sub, drafts, cap) * count
            extra[sub.item] = extra.get(sub.item, Decimal(0)) + more
    categories = _categories(charged.lines, lines, extra, terms.currency,
                             _usage_share(now, start, end) if project else None)
    return Estimate(month, terms.currency, now, start, end, categories, days.rows())


def _categories(
    before: Mapping[LineKey, Decimal], after: Mapping[LineKey, Decimal],
    ahead: Mapping[str, Decimal], currency: str, usage_share: Decimal | None,
) -> tuple[CategoryCost, ...]:
    """Each category's bill total so far and with the accrued drafts (sums of rounded lines),
    and its projection: lifetime items by what runs now, usage items at their average rate."""
    charged = _by_item(before, currency)
    total = dict(charged)
    step = Decimal(1).scaleb(-MINOR_UNITS[currency])
    for key, amount in after.items():  # only the lines the accrued drafts touched change
        was = before.get(key)
        if was is None or amount != was:
            old = Decimal(0) if was is None else was.quantize(step, ROUND_HALF_UP)
            total[key[1]] = (total.get(key[1], Decimal(0)) + amount.quantize(step, ROUND_HALF_UP)
                             - old)
    out = []
    for item in ITEMS:
        now_total = total.get(item, Decimal(0))
        if usage_share is None:
            more = Decimal(0)
        elif item in LIFETIME_ITEMS:
            more = ahead.get(item, Decimal(0))
        else:
            more = now_total * usage_share
        out.append(CategoryCost(item, Money(charged.get(item, Decimal(0)), currency).rounded(),
                                Money(now_total, currency).rounded(),
                                Money(now_total + more, currency).rounded()))
    return tuple(out)


def _by_item(lines: Mapping[LineKey, Decimal], currency: str) -> dict[str, Decimal]:
    """Each item's sum of its lines, each rounded half-up to the minor unit (`round_line`)."""
    step = Decimal(1).scaleb(-MINOR_UNITS[currency])
    found: dict[str, Decimal] = {}
    for key, amount in lines.items():
        found[key[1]] = found.get(key[1], Decimal(0)) + amount.quantize(step, ROUND_HALF_UP)
    return found


def _usage_share(now: datetime, start: datetime, end: datetime) -> Decimal:
    """How much more metered usage the rest of the month adds per unit so far, at the same
    average rate (at least an hour counts as elapsed, so the first minutes don't explode)."""
    elapsed = max(now - start, HOUR)
    left = max(end - now, timedelta(0))
    return Decimal(left // timedelta(seconds=1)) / Decimal(elapsed // timedelta(seconds=1))


class _Days:
    """Amounts by local day of the month and item; a period before the month (an adjustment
    billed in it) counts on its first day."""

    def __init__(self, tz: ZoneInfo, start: datetime, end: datetime) -> None:
        self.tz = tz
        first, last = start.astimezone(tz).date(), (end - HOUR).astimezone(tz).date()
        self.dates = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        self.amounts: dict[date, dict[str, Decimal]] = {d: {} for d in self.dates}

    def add(self, item: str, at: datetime, amount: Decimal) -> None:
        day = min(max(at.astimezone(self.tz).date(), self.dates[0]), self.dates[-1])
        row = self.amounts[day]
        row[item] = row.get(item, Decimal(0)) + amount

    def rows(self) -> tuple[DayCost, ...]:
        return tuple(DayCost(d, self.amounts[d]) for d in self.dates)


class _Rater:
    """Runs the farmer's `farm` for the estimate: each distinct plan once per estimate, and the
    projection's whole hours once per catalog (`_AHEAD`), however many resources share them."""

    def __init__(self, catalog: Catalog, terms: Terms, now: datetime, end: datetime) -> None:
        self.catalog, self.terms, self.now, self.end = catalog, terms, now, end
        self.monthly = _monthly(catalog)
        self._seen: dict[tuple[Any, ...], Farmed] = {}
        self._ahead = _AHEAD.of(catalog)

    def _plan(self, sub: Running, spans: tuple[Span, ...]) -> Plan:
        return Plan(sub.item, sub.region, self.terms.currency, self.terms.tz, spans)

    def accrued(self, sub: Running) -> tuple[tuple[Draft, ...], CapState]:
        """The drafts `farm` makes from the cursor for the spans cut at now: every period
        already begun, charged as the farmer will charge it once it falls due."""
        cut = tuple(_cut(s, self.now) for s in sub.spans if s.start < self.now)
        if sub.cursor is not None and not self._has_monthly(sub.item, cut):
            cut = _from_cursor(cut, sub.cursor)  # only a monthly anchor looks further back
        key = (sub.item, sub.region, cut, sub.cursor, sub.cap)
        if key not in self._seen:
            plan = self._plan(sub, cut)
            self._seen[key] = farm(plan, self.catalog, cursor=sub.cursor,
                                   now=self.now + DUE_WITHIN, cap=sub.cap)
        farmed = self._seen[key]
        return farmed.drafts, farmed.cap

    def ahead(self, sub: Running, drafts: Sequence[Draft], cap: CapState) -> Decimal:
        """What the resource's open span costs from the end of its accrued drafts to the
        month's end, at the catalog's prices (0 when nothing of it runs now)."""
        open_span = next((s for s in sub.spans if s.end is None), None)
        if open_span is None:
            return Decimal(0)
        since = max([self.now] + [d.period_end for d in drafts]
                    + ([sub.cursor] if sub.cursor else []))
        if since >= self.end:
            return Decimal(0)
        if self._has_monthly(sub.item, (open_span,)):  # renewing on the first span's anniversary
            spans = tuple(_cut(s, self.end) for s in sub.spans if s.start < self.end)
            return self._sum(self._plan(sub, spans), since, cap)[0]
        hour = hour_start(since, self.terms.tz)
        whole = since if hour == since else min(hour + HOUR, self.end)
        # Nothing charged or accrued yet (it started this instant): its period begins here.
        begun = since if drafts or sub.cursor is not None else None
        head, cap = (Decimal(0), cap) if whole == since else self._sum(
            self._plan(sub, (Span(since, whole, open_span.item_type),)), begun, cap)
        if whole >= self.end:
            return head
        plan = self._plan(sub, (Span(whole, self.end, open_span.item_type),))
        key = (plan, whole, self.end, cap)
        if key not in self._ahead:
            self._ahead[key] = self._sum(plan, whole, cap)[0]
        return head + self._ahead[key]

    def _sum(
        self, plan: Plan, since: datetime | None, cap: CapState
    ) -> tuple[Decimal, CapState]:
        farmed = farm(plan, self.catalog, cursor=since, now=self.end + DUE_WITHIN, cap=cap)
        amount = sum((d.amount for d in farmed.drafts if d.period_start < self.end), Decimal(0))
        return quantize6(amount), farmed.cap

    def _has_monthly(self, item: str, spans: Iterable[Span]) -> bool:
        return any((item, s.item_type) in self.monthly for s in spans)


def _cut(span: Span, at: datetime) -> Span:
    """The span, ended at `at` if it runs past it."""
    if span.end is not None and span.end <= at:
        return span
    return replace(span, end=at)


def _from_cursor(spans: tuple[Span, ...], cursor: datetime) -> tuple[Span, ...]:
    """The spans as `farm` sees them from `cursor` on: it never looks at time before it, so
    resources that ran alike since the cursor share one plan (and one `farm`)."""
    return tuple(replace(s, start=max(s.start, cursor)) for s in spans
                 if s.end is None or s.end > cursor)


class _AheadCache:
    """The projection's whole hours by plan, for one catalog: `farm` over the rest of a month
    is hundreds of periods, the same for every resource of a flavor; a new catalog empties it."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._products: tuple[Any, ...] | None = None
        self._found: dict[tuple[Any, ...], Decimal] = {}

    def of(self, catalog: Catalog) -> dict[tuple[Any, ...], Decimal]:
        if self._products != catalog.products or len(self._found) > self.LIMIT:
            self._products, self._found = catalog.products, {}
        return self._found


_AHEAD = _AheadCache()
