"""The farmer: keeps subscriptions in step with the event journal and charges due periods.

One pass (`farm_pass`, run by every tick of `sws up` and by `sws billing settle`):
1. **sync**: resources with new journal rows get their spans re-derived from their whole
   history (`segments.derive_spans`), so late and duplicated events converge. The events
   cursor is locked with SKIP LOCKED: one farmer syncs at a time, others go on charging.
2. **charge**: accounts with subscriptions due by now are claimed in batches with
   `SELECT ... FOR UPDATE SKIP LOCKED`, then their due subscriptions (locked too) in
   (due_at, id) order; each batch writes its charges, their journal entries, the balances and
   the subscriptions' cursors in ONE transaction. One farmer makes all of an account's
   charges of a pass in a fixed order, so coupons are spent the same way however many run.
   A crash loses the whole batch or nothing; the unique key on (subscription, period_start)
   refuses a second charge.
   On PostgreSQL the ordinary hour (one clock hour due at a price that held still, nothing
   unusual about the subscription or its account: `repo.charge_ordinary_hours` lists it) is
   charged first, set-based, in one statement per batch; the rest go row by row below.
   A subscription whose spans changed behind its cursor is re-rated first and the differences
   become adjustments (refund or charge) in the month still open.
   Billable time no price covers is kept as unrated usage (`billing_unrated`), never skipped;
   when the catalog grows, every subscription holding some is made due, and the pieces a price
   now covers are charged in the same batch (`billing.unrated` lists and waives them).
3. **usage**: metered usage (bandwidth, object storage) from the ports, hour by hour. A source
   that is unavailable (Swift's usage Redis down) is logged and tried again next pass; the
   rest of the pass goes on. A usage hour without a price is kept as unrated usage too.
4. **standing**: low-balance steps for the accounts touched; then months due for closing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, RowMapping

from sws.billing import repository as repo
from sws.billing import service, standing
from sws.billing.ledger import Books, Posting
from sws.billing.model import (
    ANY_REGION,
    LIFETIME_ITEMS,
    PER_SECOND,
    PER_STARTED_HOUR,
    BillingPolicy,
    Catalog,
    ItemPolicy,
    Product,
    quantize6,
)
from sws.billing.periods import HOUR, hour_start, month_bounds, month_key
from sws.billing.ports import UsageSource
from sws.billing.rating import (
    CapState,
    Draft,
    Gap,
    Plan,
    UsagePoint,
    farm,
    rate_gap,
    rate_points,
    rate_unrated_usage,
    unpriced,
)
from sws.billing.segments import derive_spans, spans_from_json, spans_to_json
from sws.clock import Clock
from sws.db.bulk import one_statement
from sws.db.engine import Database
from sws.drivers.base import CloudDriver
from sws.errors import Unavailable
from sws.events.model import ResourceEvent
from sws.money import Money

log = logging.getLogger("sws.billing")
EVENTS_CURSOR = "events"
CATALOG_CURSOR = "catalog"  # how many products the last look at unrated usage knew
OVERLAP = 200  # journal ids re-read each sync: rows a slower transaction committed late
SYNC_ROWS = 2000
BATCH = 50  # accounts per transaction
USAGE_LAG = timedelta(hours=1)  # metering may still be filling the last hour
UTC_ZONE = ZoneInfo("UTC")


@dataclass
class FarmReport:
    synced: int = 0
    charges: int = 0
    adjustments: int = 0
    usage: int = 0
    unrated: int = 0  # pieces of billable time or usage kept because no price covered them
    ordinary: int = 0  # of `charges`, those the set-based ordinary hour made (PostgreSQL)
    accounts: set[str] = field(default_factory=set)
    closed: list[str] = field(default_factory=list)


def farm_pass(
    *,
    db: Database,
    clock: Clock,
    drivers: Mapping[str, CloudDriver] | None = None,
    sources: Sequence[UsageSource] = (),
    batch: int = BATCH,
    close_months: bool = True,
    review_standing: bool = True,
) -> FarmReport:
    """One whole pass; safe to run in any number of processes at once. Without
    `review_standing` (a free community cloud, docs/community.md) balances never start a
    grace period: nothing is charged, so a zero balance owes nothing."""
    catalog = service.load_catalog(db=db)
    policy, policies = service.load_policy(db=db)
    report = FarmReport(synced=sync(db=db, clock=clock, policy=policy, policies=policies))
    _nudge_if_catalog_grew(db, clock, catalog)
    charge_due(db=db, clock=clock, catalog=catalog, batch=batch, report=report)
    for source in sources:
        try:
            report.usage += rate_usage(
                db=db, clock=clock, catalog=catalog, policy=policy, source=source, report=report
            )
        except Unavailable as exc:  # its cursor stays: the next pass rates the same hours
            log.warning("%s not rated this pass: %s", source.name, exc.detail)
    if review_standing:
        standing.review(
            db=db,
            clock=clock,
            drivers=drivers or {},
            account_ids=report.accounts,
            grace=policy.grace,
        )
    if close_months:
        report.closed = service.close_due_months(db=db, clock=clock, delay=policy.close_delay)
    return report


def subscription_id(resource_type: str, resource_id: str) -> str:
    return hashlib.sha256(f"{resource_type}:{resource_id}".encode()).hexdigest()[:32]


# --- 1. Sync subscriptions from the journal ---------------------------------------------------


def sync(
    *, db: Database, clock: Clock, policy: BillingPolicy, policies: Mapping[str, ItemPolicy]
) -> int:
    """Re-derive the spans of every resource with new journal rows; returns how many changed."""
    total = 0
    while True:
        with db.begin() as conn:
            position = repo.lock_cursor(conn, EVENTS_CURSOR)
            if position is None:
                return total  # another farmer is syncing right now
            keys, last = repo.changed_resources(
                conn, after_id=max(0, position - OVERLAP), types=LIFETIME_ITEMS, limit=SYNC_ROWS
            )
            total += _resync(conn, keys, policy, policies, clock.now())
            repo.save_cursor(conn, EVENTS_CURSOR, max(position, last))
        if last <= position:
            return total


def _resync(
    conn: Connection,
    keys: list[repo.ResourceKey],
    policy: BillingPolicy,
    policies: Mapping[str, ItemPolicy],
    now: datetime,
) -> int:
    seen = repo.subscriptions_by_key(conn, keys)
    counts = repo.event_counts(conn, keys) if keys else {}
    stale = [k for k in keys if k not in seen or seen[k]["events_count"] != counts.get(k, 0)]
    if not stale:
        return 0
    history, regions = repo.histories(conn, stale)
    owners = {k: _owner(history[k]) for k in stale}
    known = [o for o in owners.values() if o]
    repo.insert_accounts(conn, service.new_account_rows(conn, known, policy=policy, now=now))
    changed = [k for k in stale if k in seen]  # the others are new: nobody else sees them yet
    subs = _lock_for_sync(conn, changed, known + [seen[k]["account_id"] for k in changed])
    inserts, updates = [], []
    for key in stale:
        if owners[key] is None:
            continue
        spans = spans_to_json(derive_spans(history[key], policies[key[0]]))
        row, common = subs.get(key), _common(key, history[key], spans, counts, now)
        if row is None:
            inserts.append(_new_subscription(key, owners[key] or "", regions.get(key, ""), common))
        else:
            updates.append({"s_id": row["id"], **common, **_resched(row, spans, now)})
    repo.insert_subscriptions(conn, inserts)
    repo.update_subscriptions(conn, updates)
    repo.forget_open_unrated(conn, [u["s_id"] for u in updates if u["unrated_until"] is None])
    return len(inserts) + len(updates)


def _lock_for_sync(
    conn: Connection, changed: Sequence[repo.ResourceKey], account_ids: Sequence[str]
) -> dict[repo.ResourceKey, RowMapping]:
    """Lock the accounts, then their subscriptions: the order a charger takes them in.

    A charger claims an account and then all of its due subscriptions. Were sync to lock a
    subscription without its account, the charger would skip it and charge the rest first,
    so the account's coupons would be spent in another order than by a lone farmer.
    """
    repo.accounts(conn, account_ids, lock=True)
    return repo.subscriptions_by_key(conn, changed, lock=True)


def _owner(events: Sequence[ResourceEvent]) -> str | None:
    projects = [e.project_id for e in events if e.project_id]
    return min(projects) if projects else None


def _common(
    key: repo.ResourceKey,
    events: Sequence[ResourceEvent],
    spans: str,
    counts: Mapping[repo.ResourceKey, int],
    now: datetime,
) -> dict[str, Any]:
    named = [e for e in sorted(events, key=lambda e: e.key) if e.name]
    return {
        "spans": spans,
        "events_count": counts.get(key, 0),
        "updated_at": now,
        "resource_name": (named[-1].name if named else None) or key[1],
    }


def _new_subscription(
    key: repo.ResourceKey, owner: str, region: str, common: dict[str, Any]
) -> dict[str, Any]:
    spans = spans_from_json(common["spans"])
    return {
        "id": subscription_id(*key),
        "account_id": owner,
        "item": key[0],
        "resource_type": key[0],
        "resource_id": key[1],
        "region": region,
        "cursor": None,
        "due_at": spans[0].start if spans else None,
        "dirty": False,
        "cap_key": None,
        "cap_spent": Decimal(0),
        "unrated_until": None,
        **common,
    }


def _resched(row: RowMapping, spans: str, now: datetime) -> dict[str, Any]:
    """Changed spans: charge from the start if nothing was charged, else re-rate (dirty);
    either way unpriced time is looked for again from the start."""
    if spans == row["spans"]:
        return {
            "due_at": row["due_at"],
            "dirty": row["dirty"],
            "unrated_until": row["unrated_until"],
        }
    if row["cursor"] is None:
        first = spans_from_json(spans)
        return {"due_at": first[0].start if first else None, "dirty": False, "unrated_until": None}
    return {"due_at": now, "dirty": True, "unrated_until": None}


# --- 2. Charge due periods --------------------------------------------------------------------


@dataclass
class _Batch:
    charges: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    unrated: list[dict[str, Any]] = field(default_factory=list)
    rated: dict[str, list[int]] = field(default_factory=dict)  # note -> unrated row ids
    pending: dict[str, list[RowMapping]] = field(default_factory=dict)  # open, by subscription


@dataclass(frozen=True)
class _Charging:
    """One subscription being charged within a batch: what its steps read and write."""

    conn: Connection
    row: RowMapping
    account: RowMapping
    plan: Plan
    catalog: Catalog
    books: Books
    out: _Batch
    now: datetime


def charge_due(
    *,
    db: Database,
    clock: Clock,
    catalog: Catalog,
    batch: int = BATCH,
    report: FarmReport | None = None,
) -> FarmReport:
    """Claim due subscriptions batch by batch until none is left for `now`.

    Batches go on from the last account claimed; when that finds nothing, one more sweep from
    the first account picks up what another farmer skipped or gave back (a crash): the pass
    ends when a sweep from the start claims nothing."""
    report = report or FarmReport()
    now, after = clock.now(), ""
    ordinary = _Ordinary(db, now)
    while True:
        with db.begin() as conn:
            ids = repo.claim_accounts(conn, now=now, limit=batch, after=after)
            catalog = _fresh(conn, catalog) if ids else catalog
            if not ids or not _charge_claimed(conn, ids, catalog, ordinary, report):
                if not after:
                    return report
                after = ""
                continue
            after = ids[-1]


def _charge_claimed(
    conn: Connection,
    ids: Sequence[str],
    catalog: Catalog,
    ordinary: _Ordinary,
    report: FarmReport,
) -> bool:
    """Charge the claimed accounts: their ordinary hours set-based, the rest row by row;
    False when none of their due subscriptions could be taken (another farmer holds them)."""
    count, accounts = ordinary.charge(conn, ids, catalog)
    report.ordinary += count
    report.charges += count
    report.accounts |= accounts
    rows = repo.due_of(conn, ids, now=ordinary.now)
    if rows:
        _charge_batch(conn, rows, catalog, ordinary.now, report)
    return bool(count or rows)


class _Ordinary:
    """The set-based ordinary hour of one pass (PostgreSQL; elsewhere it charges nothing):
    the prices that hold still over the window charged, and the zones whose hours are UTC's."""

    def __init__(self, db: Database, now: datetime) -> None:
        self.now = now
        self.enabled = db.engine.dialect.name == "postgresql"
        self._catalog: Catalog | None = None
        self._prices: list[repo.OrdinaryPrice] = []
        self._zones: list[repo.ZoneMonths] | None = None

    def charge(
        self, conn: Connection, ids: Sequence[str], catalog: Catalog
    ) -> tuple[int, set[str]]:
        if not self.enabled:
            return 0, set()
        if catalog is not self._catalog:
            self._catalog, self._prices = catalog, ordinary_prices(catalog, self.now)
        if self._zones is None:
            self._zones = zone_months(repo.account_timezones(conn), self.now)
        return repo.charge_ordinary_hours(
            conn, ids, now=self.now, prices=self._prices, zones=self._zones
        )


ORDINARY_PAYMENTS = (PER_STARTED_HOUR, PER_SECOND)  # a whole clock hour costs one hour's price


def ordinary_prices(catalog: Catalog, now: datetime) -> list[repo.OrdinaryPrice]:
    """For each key of a lifetime item, the product `catalog.find` gives it from the last
    change of any price of that item and currency up to `now` (it cannot change in between);
    None where that is no price, or one the ordinary hour does not charge (daily, monthly)."""
    keys = {
        (p.region, p.item, p.item_type, p.price.currency)
        for p in catalog.products
        if p.item in LIFETIME_ITEMS
    }
    keys |= {(ANY_REGION, item, kind, currency) for _, item, kind, currency in keys}
    return [
        repo.OrdinaryPrice(region, item, kind, currency, _still_since(catalog, item, currency, now),
                           _ordinary(catalog.find(region, item, kind, currency, now)))
        for region, item, kind, currency in sorted(keys)
    ]


def _still_since(catalog: Catalog, item: str, currency: str, now: datetime) -> datetime:
    """The last moment up to `now` at which a price of `item` in `currency` began or ended."""
    moments = [
        moment
        for p in catalog.products
        if p.item == item and p.price.currency == currency
        for moment in (p.valid_from, p.valid_until)
        if moment is not None and moment <= now
    ]
    return max(moments, default=now)


def _ordinary(product: Product | None) -> Product | None:
    return product if product is not None and product.payment_type in ORDINARY_PAYMENTS else None


ZONE_STEP = timedelta(minutes=15)


def zone_months(names: Sequence[str], now: datetime) -> list[repo.ZoneMonths]:
    """The zones whose clock hours start on UTC hours from two hours before `now` to `now`
    (the cursors an ordinary hour starts from, and the hours after them), each with the month
    boundary a period starting in that window may cross."""
    found = []
    for name in names:
        try:
            tz = ZoneInfo(name)
        except (ValueError, ZoneInfoNotFoundError):
            continue
        moments = [now - 2 * HOUR + n * ZONE_STEP for n in range(9)]
        if any(_offset(m, tz) % HOUR for m in moments):
            continue
        after = month_key(now - HOUR, tz)
        start = month_bounds(after, tz)[0]
        before = month_key(start - timedelta(microseconds=1), tz)
        found.append(repo.ZoneMonths(name, start, before, after))
    return found


def _offset(moment: datetime, tz: ZoneInfo) -> timedelta:
    return moment.astimezone(tz).utcoffset() or timedelta(0)


def _fresh(conn: Connection, catalog: Catalog) -> Catalog:
    """The catalog as this transaction sees it: a price loaded during the pass counts at once,
    so a subscription made due for it is never rated with the catalog from before it."""
    if repo.product_count(conn) == len(catalog.products):
        return catalog
    return Catalog(tuple(repo.all_products(conn)))


def _nudge_if_catalog_grew(db: Database, clock: Clock, catalog: Catalog) -> None:
    """New prices may cover unrated usage: its subscriptions become due (one farmer does it)."""
    with db.begin() as conn:
        seen = repo.lock_cursor(conn, CATALOG_CURSOR)
        if seen is None or seen == len(catalog.products):
            return
        repo.nudge_unrated(conn, now=clock.now())
        repo.save_cursor(conn, CATALOG_CURSOR, len(catalog.products))


def _charge_batch(
    conn: Connection,
    rows: Sequence[RowMapping],
    catalog: Catalog,
    now: datetime,
    report: FarmReport,
) -> None:
    ids = [row["account_id"] for row in rows]
    accounts = repo.accounts(conn, ids, lock=True)
    books, out = Books(repo.coupons_of(conn, ids), now=now), _Batch()
    for piece in repo.open_unrated(conn, [row["id"] for row in rows]):
        out.pending.setdefault(piece["subscription_id"], []).append(piece)
    for row in rows:
        _charge_one(conn, row, accounts[row["account_id"]], catalog, books, out, now)
    with one_statement(conn):  # nothing below reads these back: one round trip on PostgreSQL
        repo.insert_charges(conn, out.charges)
        repo.insert_adjustments(conn, out.adjustments)
        service.write_books(conn, books)
        repo.update_subscriptions(conn, out.updates)
    repo.insert_unrated(conn, out.unrated)
    for note, rated in out.rated.items():
        repo.resolve_unrated(conn, rated, status=repo.RATED, now=now, note=note)
    report.charges += len(out.charges)
    report.adjustments += len(out.adjustments)
    report.unrated += len(out.unrated)
    report.accounts |= set(ids)


def _plan(row: Mapping[Any, Any], account: Mapping[Any, Any]) -> Plan:
    return Plan(
        item=row["item"],
        region=row["region"],
        currency=account["currency"],
        tz=ZoneInfo(account["timezone"]),
        spans=tuple(spans_from_json(row["spans"])),
    )


def _charge_one(
    conn: Connection,
    row: RowMapping,
    account: RowMapping,
    catalog: Catalog,
    books: Books,
    out: _Batch,
    now: datetime,
) -> None:
    plan, since = _plan(row, account), row["unrated_until"]
    job = _Charging(conn, row, account, plan, catalog, books, out, now)
    if row["dirty"]:
        _reconcile(job)
        repo.forget_open_unrated(conn, [row["id"]])  # the spans changed: look again from start
        out.pending.pop(row["id"], None)
        since = None
    taken = _rate_unrated(job)
    farmed = farm(
        plan,
        catalog,
        cursor=row["cursor"],
        now=now,
        cap=CapState(row["cap_key"], Decimal(row["cap_spent"])),
    )
    for draft in farmed.drafts:
        if draft.period_start not in taken:
            _charge(job, draft)
    found = unpriced(plan, catalog, since=since, now=now)
    out.unrated += [_unrated_values(row, account, gap, now) for gap in found.gaps]
    out.updates.append(
        {
            "s_id": row["id"],
            "cursor": farmed.cursor,
            "due_at": _earliest(farmed.due_at, found.recheck_at),
            "dirty": False,
            "cap_key": farmed.cap.key,
            "cap_spent": farmed.cap.spent,
            "updated_at": now,
            "unrated_until": found.until,
        }
    )


def _charge(job: _Charging, draft: Draft) -> None:
    dated, row = _dated(draft, job.now), job.row
    job.out.charges.append(_charge_values(row, job.account, draft, job.plan.tz, dated))
    key = f"charge:{row['id']}:{draft.period_start.isoformat()}"
    _debit(job.books, row, job.account, draft.amount, key, at=dated)


def _dated(draft: Draft, now: datetime) -> datetime:
    """A charge is dated when its period fell due (never later than now), not when written."""
    return min(draft.due_at or draft.period_end, now)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min((t for t in (a, b) if t is not None), default=None)


def _rate_unrated(job: _Charging) -> set[datetime]:
    """Charge the unrated pieces a price now covers; returns the period starts charged.

    A period already charged (a piece of an hour charged in full) is not charged again: the
    piece is marked rated all the same.
    """
    plan, catalog, sub_id = job.plan, job.catalog, job.row["id"]
    pieces = [r for r in job.out.pending.get(sub_id, ()) if _priced(r, plan, catalog)]
    if not pieces:
        return set()
    charged = set(repo.charged_periods(job.conn, sub_id))
    taken: set[datetime] = set()
    for piece in pieces:
        draft = _unrated_draft(piece, plan, catalog)
        if draft is not None and draft.period_start not in charged | taken:
            _charge(job, draft)
            taken.add(draft.period_start)
        job.out.rated.setdefault(f"rated {job.now.isoformat()}", []).append(piece["id"])
    return taken


def _priced(piece: RowMapping, plan: Plan, catalog: Catalog) -> bool:
    found = catalog.find(
        plan.region, piece["item"], piece["item_type"], plan.currency, piece["period_start"]
    )
    return found is not None


def _unrated_draft(piece: RowMapping, plan: Plan, catalog: Catalog) -> Draft | None:
    if piece["item"] not in LIFETIME_ITEMS:
        point = UsagePoint(
            piece["account_id"],
            piece["resource_id"],
            plan.region,
            piece["item"],
            piece["item_type"],
            piece["period_start"],
            Decimal(piece["quantity"]),
        )
        return rate_unrated_usage(catalog, point, plan.currency)
    gap = Gap(piece["item_type"], piece["period_start"], piece["period_end"])
    return rate_gap(plan, catalog, gap)


def _unrated_values(
    row: Mapping[Any, Any], account: Mapping[Any, Any], gap: Gap, now: datetime
) -> dict[str, Any]:
    return {
        "subscription_id": row["id"],
        "period_start": gap.start,
        "period_end": gap.end,
        "account_id": account["id"],
        "item": row["item"],
        "item_type": gap.item_type,
        "region": row["region"],
        "resource_id": row["resource_id"],
        "resource_name": row["resource_name"],
        "quantity": gap.hours,
        "unit": "hour",
        "status": repo.OPEN,
        "recorded_at": now,
        "resolved_at": None,
        "note": "",
    }


def _debit(
    books: Books,
    row: Mapping[Any, Any],
    account: Mapping[Any, Any],
    amount: Decimal,
    key: str,
    *,
    at: datetime | None = None,
) -> None:
    memo = f"{row['item']} {row['resource_name']}"
    if amount > 0:
        books.debit(
            account["id"],
            Money(amount, account["currency"]),
            row["item"],
            Posting(key, "charge", memo, at),
        )
    elif amount < 0:
        books.credit(
            account["id"], Money(-amount, account["currency"]), Posting(key, "refund", memo, at)
        )


def _charge_values(
    row: Mapping[Any, Any], account: Mapping[Any, Any], draft: Draft, tz: ZoneInfo, now: datetime
) -> dict[str, Any]:
    product = draft.product
    return {
        "subscription_id": row["id"],
        "period_start": draft.period_start,
        "period_end": draft.period_end,
        "account_id": account["id"],
        "product_id": product.id,
        "item": row["item"],
        "item_type": draft.item_type,
        "resource_id": row["resource_id"],
        "resource_name": row["resource_name"],
        "unit": product.unit,
        "unit_price": product.price.amount,
        "quantity": draft.quantity,
        "amount": draft.amount,
        "bill_month": service.open_month(account, month_key(draft.period_start, tz)),
        "created_at": now,
    }


def _reconcile(job: _Charging) -> None:
    """Re-rate the periods behind the cursor; each difference becomes one adjustment."""
    conn, row, account, plan, now = job.conn, job.row, job.account, job.plan, job.now
    expected = farm(plan, job.catalog, cursor=None, now=now, cap=CapState()).drafts
    want = {d.period_start: d for d in expected if d.period_start < row["cursor"]}
    have = repo.charged_periods(conn, row["id"])
    _drop_waived(conn, row["id"], want, have)
    for start in sorted(set(want) | set(have)):
        net, seq, template = have.get(start, (Decimal(0), 0, None))
        draft = want.get(start)
        difference = (draft.amount if draft else Decimal(0)) - net
        if difference == 0:
            continue
        base = (
            _charge_values(row, account, draft, plan.tz, now)
            if draft
            else _copy(template, account, plan.tz, now)
        )
        job.out.adjustments.append(
            {
                **base,
                "seq": seq,
                "amount": difference,
                "quantity": _adjusted_quantity(draft, net, template),
            }
        )
        _debit(job.books, row, account, difference, f"adjust:{row['id']}:{start.isoformat()}:{seq}")


def _drop_waived(
    conn: Connection, subscription_id: str, want: dict[datetime, Draft], have: Mapping[Any, Any]
) -> None:
    """A period never charged that holds waived usage stays uncharged, whatever prices came."""
    new = [d for start, d in want.items() if start not in have]
    if not new:
        return
    waived = repo.waived_starts(conn, subscription_id)
    for draft in new:
        if any(draft.period_start <= w < draft.period_end for w in waived):
            del want[draft.period_start]


def _copy(
    template: RowMapping | None, account: Mapping[Any, Any], tz: ZoneInfo, now: datetime
) -> dict[str, Any]:
    assert template is not None
    names = (
        "subscription_id",
        "period_start",
        "period_end",
        "account_id",
        "product_id",
        "item",
        "item_type",
        "resource_id",
        "resource_name",
        "unit",
        "unit_price",
    )
    month = service.open_month(account, month_key(template["period_start"], tz))
    return {**{n: template[n] for n in names}, "bill_month": month, "created_at": now}


def _adjusted_quantity(draft: Draft | None, net: Decimal, template: RowMapping | None) -> Decimal:
    """The quantity an adjustment adds: a new period's, or minus a refunded charge's."""
    if draft is not None:
        return draft.quantity if net == 0 else Decimal(0)
    return -Decimal(template["quantity"]) if template is not None else Decimal(0)


# --- 3. Metered usage -------------------------------------------------------------------------


def rate_usage(
    *,
    db: Database,
    clock: Clock,
    catalog: Catalog,
    policy: BillingPolicy,
    source: UsageSource,
    report: FarmReport,
) -> int:
    """Rate the hours of `source` that are complete, once each, in one transaction."""
    now = clock.now()
    end = hour_start(now - USAGE_LAG, UTC_ZONE)
    with db.begin() as conn:
        if repo.lock_cursor(conn, source.name) is None:
            return 0
        start = repo.cursor_at(conn, source.name) or end - timedelta(days=1)
        if start >= end:
            return 0
        written = _rate_window(
            conn, source.points(start=start, end=end), catalog, policy, now, report
        )
        repo.save_cursor(conn, source.name, 0, end)
        return written


def _rate_window(
    conn: Connection,
    points: Sequence[UsagePoint],
    catalog: Catalog,
    policy: BillingPolicy,
    now: datetime,
    report: FarmReport,
) -> int:
    owners = sorted({p.project_id for p in points})
    repo.insert_accounts(conn, service.new_account_rows(conn, owners, policy=policy, now=now))
    accounts = repo.accounts(conn, owners, lock=True)
    subs = _usage_subscriptions(conn, points, now)
    books, charges = Books(repo.coupons_of(conn, owners), now=now), []
    unrated: list[dict[str, Any]] = []
    by_owner: dict[str, list[UsagePoint]] = {}
    for point in points:
        by_owner.setdefault(point.project_id, []).append(point)
    rated = _rate_by_owner(by_owner, accounts, catalog)
    for account_id in owners:
        account = accounts[account_id]
        tz = ZoneInfo(account["timezone"])
        for point, (product, amount) in zip(by_owner[account_id], rated[account_id], strict=True):
            if point.quantity <= 0:
                continue
            row = subs[_usage_key(point)]
            if product is None:  # kept as unrated usage, never silently free
                unrated.append(_unrated_usage_values(row, account, point, now))
                continue
            end = point.hour_start + HOUR
            draft = Draft(product, point.item_type, point.hour_start, end, point.quantity, amount)
            dated = min(end, now)
            charges.append(_charge_values(row, account, draft, tz, dated))
            key = f"charge:{row['id']}:{point.hour_start.isoformat()}"
            _debit(books, row, account, amount, key, at=dated)
    repo.insert_charges(conn, charges)
    repo.insert_unrated(conn, unrated)
    service.write_books(conn, books)
    report.accounts |= set(owners)
    report.unrated += len(unrated)
    return len(charges)


def _unrated_usage_values(
    row: Mapping[Any, Any], account: Mapping[Any, Any], point: UsagePoint, now: datetime
) -> dict[str, Any]:
    gap = Gap(point.item_type, point.hour_start, point.hour_start + HOUR)
    return {
        **_unrated_values(row, account, gap, now),
        "item": point.item,
        "quantity": quantize6(point.quantity),
        "unit": point.item_type,
    }


def _rate_by_owner(
    by_owner: Mapping[str, Sequence[UsagePoint]],
    accounts: Mapping[str, RowMapping],
    catalog: Catalog,
) -> dict[str, list[tuple[Product | None, Decimal]]]:
    """Each owner's points priced in its account's currency, one `rate_points` per currency."""
    by_currency: dict[str, list[str]] = {}
    for owner in by_owner:
        by_currency.setdefault(accounts[owner]["currency"], []).append(owner)
    rated: dict[str, list[tuple[Product | None, Decimal]]] = {}
    for currency, group in by_currency.items():
        prices = rate_points([p for o in group for p in by_owner[o]], catalog, currency)
        start = 0
        for owner in group:
            stop = start + len(by_owner[owner])
            rated[owner] = prices.pairs(start, stop)
            start = stop
    return rated


def _usage_key(point: UsagePoint) -> repo.ResourceKey:
    return (f"{point.item}:{point.item_type}", f"{point.project_id}/{point.resource_id}")


def _usage_subscriptions(
    conn: Connection, points: Sequence[UsagePoint], now: datetime
) -> dict[repo.ResourceKey, RowMapping]:
    keys = sorted({_usage_key(p) for p in points})
    found = repo.subscriptions_by_key(conn, keys)
    first = {_usage_key(p): p for p in points}
    repo.insert_subscriptions(
        conn,
        [
            {
                "id": subscription_id(*k),
                "account_id": first[k].project_id,
                "item": first[k].item,
                "resource_type": k[0],
                "resource_id": k[1],
                "resource_name": first[k].resource_id,
                "region": first[k].region,
                "spans": "[]",
                "events_count": 0,
                "cursor": None,
                "due_at": None,
                "dirty": False,
                "cap_key": None,
                "cap_spent": Decimal(0),
                "updated_at": now,
                "unrated_until": None,
            }
            for k in keys
            if k not in found
        ],
    )
    return repo.subscriptions_by_key(conn, keys)
