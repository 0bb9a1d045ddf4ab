"""Billing use cases: catalog, accounts, top-ups, coupons, bills, month close and the check.

The farmer (charging) lives in `billing.farmer`; low-balance enforcement in `billing.standing`.
Every use case runs in one transaction: bad input raises before anything is written.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, RowMapping

from sws.billing import catalog_file, month_close
from sws.billing import repository as repo
from sws.billing.ledger import Books, Posting
from sws.billing.model import (
    CATEGORIES,
    DEFAULT_POLICIES,
    ENFORCE,
    ITEMS,
    OK,
    PAYMENT_MODES,
    SUSPENDED,
    AccountDefaults,
    AccountStanding,
    Bill,
    BillingPolicy,
    BillLine,
    Catalog,
    Coupon,
    ItemPolicy,
    Product,
    bill_lines,
    check_price,
    close_previous,
)
from sws.billing.periods import month_key, next_month, parse_month
from sws.clock import Clock, check_moment
from sws.db.engine import Database
from sws.errors import Conflict, InsufficientFunds, Invalid, NotFound
from sws.leases.service import Guard
from sws.money import Money, check_currency

# --- Catalog ----------------------------------------------------------------------------------


def load_catalog(*, db: Database) -> Catalog:
    with db.read() as conn:
        return Catalog(tuple(repo.all_products(conn)))


def list_prices(
    *, db: Database, at: datetime | None = None, currency: str | None = None
) -> list[Product]:
    """Products (in effect at `at`, when given), optionally in one currency."""
    with db.read() as conn:
        products = repo.all_products(conn)
    return [
        p
        for p in products
        if (at is None or p.valid_at(at)) and (currency is None or p.price.currency == currency)
    ]


def add_prices(*, db: Database, clock: Clock, products: Sequence[Product]) -> int:
    """Add catalog lines; the same line again is a no-op. Returns how many were new."""
    with db.begin() as conn:
        return _add_prices(conn, products, clock.now())


def _add_prices(conn: Connection, products: Sequence[Product], now: datetime) -> int:
    existing = {p.id: p for p in repo.all_products(conn)}
    return sum(_add_price(conn, product, existing, now) for product in products)


def _add_price(
    conn: Connection, product: Product, existing: dict[str, Product], now: datetime
) -> int:
    same = existing.get(product.id)
    if same is not None:
        if (same.price, same.monthly_cap) != (product.price, product.monthly_cap):
            raise Conflict(f"a different price for {product.item_type} starts then", field="price")
        return 0
    previous = close_previous(list(existing.values()), product)
    until = _gap_end(list(existing.values()), product, now)
    for old in previous:
        repo.end_product(conn, old.id, product.valid_from)
    repo.insert_product(conn, product, now=now)
    if until is not None:
        repo.end_product(conn, product.id, until)
        product = replace(product, valid_until=until)
    existing[product.id] = product
    return 1


def _gap_end(existing: Sequence[Product], product: Product, now: datetime) -> datetime | None:
    """Where a price that starts in the past must end; refused if it would re-price anything.

    A price change starts now or later, so a closed period never changes. A price may reach
    back only over time no price of its key covered (unrated usage it will rate); it then ends
    where the key's next price starts.
    """
    same_key = [p for p in existing if p.key == product.key]
    if product.valid_from >= now or not same_key:
        return None
    later = [p.valid_from for p in same_key if p.valid_from > product.valid_from]
    covered = any(
        p.valid_from <= product.valid_from
        and (p.valid_until is None or p.valid_until > product.valid_from)
        for p in same_key
    )
    if covered or not later:
        raise Invalid(
            "a price change starts now or later; closed periods never change", field="valid_from"
        )
    return min(later)


def load_policy(*, db: Database) -> tuple[BillingPolicy, dict[str, ItemPolicy]]:
    """The operator's billing settings and per-item stopped policy (defaults where unset)."""
    with db.read() as conn:
        values = repo.settings(conn)
    return policy_from(values), item_policies_from(values)


def policy_from(values: Mapping[str, str]) -> BillingPolicy:
    base = BillingPolicy()
    return BillingPolicy(
        grace=timedelta(hours=float(values.get("grace_hours", base.grace.total_seconds() / 3600))),
        close_delay=timedelta(
            hours=float(values.get("close_delay_hours", base.close_delay.total_seconds() / 3600))
        ),
        low_balance_threshold=Decimal(
            values.get("low_balance_threshold", str(base.low_balance_threshold))
        ),
        default_currency=values.get("default_currency", base.default_currency),
        defaults=defaults_from(values),
    )


#: Billing settings that hold the defaults of accounts SWS creates (`AccountDefaults`).
DEFAULT_KEYS = {
    "payment_mode": "default_payment_mode",
    "credit_limit": "default_credit_limit",
    "currency": "default_currency",
    "timezone": "default_timezone",
    "enforcement": "default_enforcement",
}


def defaults_from(values: Mapping[str, str]) -> AccountDefaults:
    base = AccountDefaults()
    return AccountDefaults(
        payment_mode=values.get(DEFAULT_KEYS["payment_mode"], base.payment_mode),
        credit_limit=catalog_file.decimal(
            values.get(DEFAULT_KEYS["credit_limit"], str(base.credit_limit)), "credit_limit"
        ),
        currency=values.get(DEFAULT_KEYS["currency"], base.currency),
        timezone=values.get(DEFAULT_KEYS["timezone"], base.timezone),
        enforcement=values.get(DEFAULT_KEYS["enforcement"], base.enforcement),
    )


def save_account_defaults(*, db: Database, values: Mapping[str, str]) -> AccountDefaults:
    """Store the defaults the settings chose (keys of `AccountDefaults`), so every process and
    every path that creates an account (farmer, API, console) uses the same ones."""
    unknown = sorted(set(values) - set(DEFAULT_KEYS))
    if unknown:
        raise Invalid(f"no account default {unknown[0]!r}", field=unknown[0])
    stored = {DEFAULT_KEYS[k]: v for k, v in values.items()}
    with db.begin() as conn:
        merged = {**repo.settings(conn), **stored}
        defaults = defaults_from(merged)  # refuses nonsense before anything is written
        repo.save_settings(conn, stored)
    return defaults


def item_policies_from(values: Mapping[str, str]) -> dict[str, ItemPolicy]:
    policies = dict(DEFAULT_POLICIES)
    for item, default in DEFAULT_POLICIES.items():
        policies[item] = ItemPolicy(
            charge_stopped=values.get(f"{item}.charge_stopped", str(default.charge_stopped))
            == "True",
            charge_offloaded=values.get(f"{item}.charge_offloaded", str(default.charge_offloaded))
            == "True",
        )
    return policies


def save_settings(*, db: Database, values: Mapping[str, str]) -> None:
    policy_from(values)  # refuses nonsense before anything is written
    with db.begin() as conn:
        repo.save_settings(conn, values)


# --- Accounts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountView:
    id: str
    currency: str
    timezone: str
    payment_mode: str
    balance: Money
    coupon_balance: Money
    credit_limit: Money
    low_balance_threshold: Money
    status: str
    grace_until: datetime | None
    coupons: tuple[Coupon, ...]
    enforcement: str = ENFORCE

    @property
    def available(self) -> Money:
        return Money(self.standing().available, self.currency)

    def standing(self) -> AccountStanding:
        return AccountStanding(
            self.payment_mode,
            self.balance.amount,
            self.coupon_balance.amount,
            self.credit_limit.amount,
            self.low_balance_threshold.amount,
            self.status,
            self.grace_until,
            self.enforcement == ENFORCE,
        )


def new_account_rows(
    conn: Connection, project_ids: Iterable[str], *, policy: BillingPolicy, now: datetime
) -> list[dict[str, Any]]:
    """Rows for the accounts `project_ids` still lack (currency and zone from the tenant)."""
    wanted = sorted(set(project_ids))
    existing = repo.accounts(conn, wanted)
    missing = [p for p in wanted if p not in existing]
    profiles = repo.tenant_profiles(conn, missing)
    defaults = policy.defaults
    rows = []
    for p in missing:
        currency, timezone = profiles.get(p, (defaults.currency, defaults.timezone))
        rows.append(
            {
                "id": p,
                "currency": currency,
                "timezone": timezone,
                "payment_mode": defaults.payment_mode,
                "credit_limit": defaults.credit_limit,
                "low_balance_threshold": policy.low_balance_threshold,
                "balance": Decimal(0),
                "status": OK,
                "grace_until": None,
                "last_closed_month": None,
                "created_at": now,
                "updated_at": now,
                "enforcement": defaults.enforcement,
            }
        )
    return rows


def _ensure_account(conn: Connection, tenant_id: str, *, now: datetime) -> RowMapping:
    found = repo.accounts(conn, [tenant_id], lock=True).get(tenant_id)
    if found is not None:
        return found
    if not repo.tenant_profiles(conn, [tenant_id]):
        raise NotFound(f"tenant {tenant_id} not found", field="tenant_id")
    policy = policy_from(repo.settings(conn))
    repo.insert_accounts(conn, new_account_rows(conn, [tenant_id], policy=policy, now=now))
    return repo.accounts(conn, [tenant_id], lock=True)[tenant_id]


def view(conn: Connection, row: RowMapping, *, now: datetime) -> AccountView:
    currency = row["currency"]
    coupons = tuple(c for c in repo.coupons_of(conn, [row["id"]]) if c.expires_at > now)
    live = sum((c.remaining.amount for c in coupons), Decimal(0))
    return AccountView(
        id=row["id"],
        currency=currency,
        timezone=row["timezone"],
        payment_mode=row["payment_mode"],
        balance=Money(row["balance"], currency),
        coupon_balance=Money(live, currency),
        credit_limit=Money(row["credit_limit"], currency),
        low_balance_threshold=Money(row["low_balance_threshold"], currency),
        status=row["status"],
        grace_until=row["grace_until"],
        coupons=coupons,
        enforcement=row["enforcement"],
    )


def get_account(*, db: Database, clock: Clock, tenant_id: str) -> AccountView:
    """The caller's account: balance, coupons, credit limit (created on first look)."""
    now = clock.now()
    with db.begin() as conn:
        return view(conn, _ensure_account(conn, tenant_id, now=now), now=now)


def peek_account(*, db: Database, clock: Clock, tenant_id: str) -> AccountView | None:
    """The account if it exists, read-only (pages that must not write, such as a header)."""
    with db.read() as conn:
        row = repo.accounts(conn, [tenant_id]).get(tenant_id)
        return None if row is None else view(conn, row, now=clock.now())


def account_currency(*, db: Database, tenant_id: str) -> str:
    """The account's currency, else the tenant's (before its first charge)."""
    with db.read() as conn:
        row = repo.accounts(conn, [tenant_id]).get(tenant_id)
        return str(row["currency"]) if row is not None else _tenant_currency(conn, tenant_id)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    at: datetime
    kind: str
    amount: Money
    coupon_id: str | None
    memo: str


def recent_entries(*, db: Database, tenant_id: str, limit: int = 20) -> list[LedgerEntry]:
    """The account's newest ledger entries, newest first."""
    with db.read() as conn:
        rows = repo.recent_entries(conn, tenant_id, limit)
    return [
        LedgerEntry(r["created_at"], r["kind"], Money(r["amount"], r["currency"]), r["coupon_id"],
                    r["memo"])
        for r in rows
    ]


def update_account(
    *,
    db: Database,
    clock: Clock,
    tenant_id: str,
    payment_mode: str | None = None,
    credit_limit: Decimal | None = None,
    low_balance_threshold: Decimal | None = None,
) -> AccountView:
    """An admin changes how an account pays: prepaid or postpaid, credit limit, threshold."""
    if payment_mode is not None and payment_mode not in PAYMENT_MODES:
        raise Invalid(f"payment_mode is one of {', '.join(PAYMENT_MODES)}", field="payment_mode")
    values: dict[str, Any] = {"updated_at": clock.now()}
    if payment_mode is not None:
        values["payment_mode"] = payment_mode
    if credit_limit is not None:
        values["credit_limit"] = check_price(credit_limit, name="credit_limit")
    if low_balance_threshold is not None:
        values["low_balance_threshold"] = check_price(
            low_balance_threshold, name="low_balance_threshold"
        )
    with db.begin() as conn:
        _ensure_account(conn, tenant_id, now=values["updated_at"])
        repo.update_account(conn, tenant_id, **values)
        repo.audit(conn, [audit_row(tenant_id, values["updated_at"], "account_changed", values)])
    return get_account(db=db, clock=clock, tenant_id=tenant_id)


def ensure_can_create(*, db: Database, tenant_id: str) -> None:
    """Refuse new resources to a tenant that billing suspended: 402 InsufficientFunds."""
    with db.read() as conn:
        row = repo.accounts(conn, [tenant_id]).get(tenant_id)
    if row is not None and row["status"] == SUSPENDED:
        raise InsufficientFunds("this account is suspended for lack of funds; top it up first")


def audit_row(account_id: str, at: datetime, action: str, detail: Any) -> dict[str, Any]:
    return {"account_id": account_id, "at": at, "action": action, "detail": str(detail)}


# --- Top-ups and coupons ----------------------------------------------------------------------


def top_up(
    *,
    db: Database,
    clock: Clock,
    tenant_id: str,
    amount: Money,
    idempotency_key: str | None = None,
    memo: str = "",
) -> AccountView:
    """Add cash once per idempotency key (required): the same top-up replayed adds nothing,
    the key reused for a different one is a Conflict naming both (Stripe's semantics)."""
    _positive(amount)
    key = f"topup:{_required_key(idempotency_key)}"
    now = clock.now()
    with db.begin() as conn:
        row = _ensure_account(conn, tenant_id, now=now)
        _same_currency(row, amount)
        earlier = repo.entry_by_key(conn, key)
        if earlier is None:
            books = Books((), now=now)
            books.credit(tenant_id, amount, Posting(key, "topup", memo or "top-up"))
            write_books(conn, books, claim_keys=True)
            repo.audit(conn, [audit_row(tenant_id, now, "topup", amount)])
        else:
            _same_top_up(earlier, tenant_id, amount, idempotency_key)
        return view(conn, repo.accounts(conn, [tenant_id])[tenant_id], now=now)


MAX_KEY = 128


def _required_key(idempotency_key: str | None) -> str:
    if not idempotency_key or len(idempotency_key) > MAX_KEY:
        raise Invalid(
            f"a top-up needs an idempotency_key of 1 to {MAX_KEY} characters, so that a retry "
            "cannot add the cash twice",
            field="idempotency_key",
        )
    return idempotency_key


def _same_top_up(earlier: RowMapping, tenant_id: str, amount: Money, key: str | None) -> None:
    """Refuse a different top-up under a key already used; the same one is a harmless replay."""
    was = Money(earlier["amount"], earlier["currency"])
    if earlier["kind"] != "topup" or earlier["account_id"] != tenant_id or was != amount:
        raise Conflict(
            f"idempotency_key {key!r} was already used for a top-up of {was} to account "
            f"{earlier['account_id']}; this request asks {amount} to {tenant_id}",
            field="idempotency_key",
        )


def grant_coupon(
    *,
    db: Database,
    clock: Clock,
    tenant_id: str,
    amount: Money,
    expires_at: datetime,
    items: Sequence[str] = (),
    idempotency_key: str | None = None,
) -> Coupon:
    """Give a coupon: spent before cash, on `items` only (every item when empty), until expiry.

    The same idempotency key twice grants it once; reused for a different coupon, a Conflict.
    """
    _positive(amount)
    unknown = sorted(set(items) - set(ITEMS))
    if unknown:
        raise Invalid(f"no such item {unknown[0]!r}; one of {', '.join(ITEMS)}", field="items")
    now = clock.now()
    expires_at = check_moment(expires_at, field="expires_at")
    if expires_at <= now:
        raise Invalid("a coupon must expire in the future", field="expires_at")
    seed = idempotency_key or f"{tenant_id}:{now.isoformat()}"
    coupon_id = hashlib.sha256(f"coupon:{seed}".encode()).hexdigest()[:32]
    coupon = Coupon(coupon_id, tenant_id, amount, amount, expires_at, frozenset(items))
    with db.begin() as conn:
        _same_currency(_ensure_account(conn, tenant_id, now=now), amount)
        earlier = repo.coupon_by_id(conn, coupon_id)
        if earlier is None:
            _write_coupon(conn, coupon, now=now)
            return coupon
        _same_coupon(earlier, coupon, idempotency_key)
        return earlier


def _same_coupon(earlier: Coupon, asked: Coupon, key: str | None) -> None:
    terms = ("account_id", "amount", "expires_at", "items")
    if any(getattr(earlier, t) != getattr(asked, t) for t in terms):
        raise Conflict(
            f"idempotency_key {key!r} was already used for a coupon of {earlier.amount} to "
            f"account {earlier.account_id}, expiring {earlier.expires_at.isoformat()}; this "
            "request asks for a different one",
            field="idempotency_key",
        )


def _write_coupon(conn: Connection, coupon: Coupon, *, now: datetime) -> None:
    repo.insert_coupon(conn, coupon, now=now)
    repo.insert_entries(
        conn,
        [
            {
                "account_id": coupon.account_id,
                "idempotency_key": f"coupon:{coupon.id}",
                "kind": "coupon_grant",
                "coupon_id": coupon.id,
                "amount": coupon.amount.amount,
                "currency": coupon.amount.currency,
                "created_at": now,
                "memo": "coupon granted",
            }
        ],
    )
    repo.audit(conn, [audit_row(coupon.account_id, now, "coupon_granted", coupon.amount)])


def _positive(amount: Money) -> None:
    check_currency(amount.currency)
    if amount.amount <= 0:
        raise Invalid("amount must be more than 0", field="amount")
    check_price(amount.amount, name="amount")


def _same_currency(row: RowMapping, amount: Money) -> None:
    if amount.currency != row["currency"]:
        raise Invalid(
            f"this account is in {row['currency']}, not {amount.currency}", field="currency"
        )


def write_books(conn: Connection, books: Books, *, claim_keys: bool = False) -> None:
    """With `claim_keys` the entries' keys came from a caller: one already taken is a Conflict."""
    insert = repo.claim_entries if claim_keys else repo.insert_entries
    insert(conn, books.entries)
    repo.add_to_balances(conn, books.cash, now=books.now)
    repo.set_coupon_remaining(conn, books.coupon_remaining())


# --- Resource names -----------------------------------------------------------------------


def renamed_in(conn: Connection, renames: Iterable[tuple[str, str, str]]) -> int:
    """Resources renamed, as (resource type, id, new name): the open bills say the new name
    at once, not from the next charge on (the events path calls this in the transaction that
    journals the rename); closed bills keep the name they were closed with."""
    return sum(repo.rename_resource(conn, (kind, ident), name[:255])
               for kind, ident, name in renames)


# --- Bills ------------------------------------------------------------------------------------


def get_bill(*, db: Database, tenant_id: str, month: str) -> Bill:
    """A month's bill: frozen lines once closed, else the charges so far."""
    parse_month(month)
    with db.read() as conn:
        row = repo.accounts(conn, [tenant_id]).get(tenant_id)
        if row is None:
            return Bill(tenant_id, month, _tenant_currency(conn, tenant_id), False, ())
        return _bill(conn, row, month)


def _tenant_currency(conn: Connection, tenant_id: str) -> str:
    profile = repo.tenant_profiles(conn, [tenant_id]).get(tenant_id)
    if profile is None:
        raise NotFound(f"tenant {tenant_id} not found", field="tenant")
    return profile[0]


def _bill(conn: Connection, row: RowMapping, month: str) -> Bill:
    closed = repo.closed_bill(conn, row["id"], month)
    if closed is not None:
        lines = tuple(_frozen_line(line) for line in closed[1])
        return Bill(row["id"], month, row["currency"], True, lines)
    rows = repo.charge_rows(conn, row["id"], month)
    return Bill(row["id"], month, row["currency"], False, bill_lines(rows, row["currency"]))


def _frozen_line(row: RowMapping) -> BillLine:
    names = (
        "kind",
        "type",
        "item_type",
        "resource_id",
        "resource_name",
        "unit_price",
        "unit",
        "start",
        "end",
        "quantity",
        "total",
    )
    return BillLine(**{name: row[name] for name in names})


def list_bills(*, db: Database, tenant_id: str, month: str | None = None) -> list[Bill]:
    """Every month with charges (or just `month`), newest first."""
    if month is not None:
        return [get_bill(db=db, tenant_id=tenant_id, month=month)]
    with db.read() as conn:
        row = repo.accounts(conn, [tenant_id]).get(tenant_id)
        if row is None:
            return []
        return [_bill(conn, row, m) for m in reversed(repo.charged_months(conn, tenant_id))]


CSV_COLUMNS = (
    "kind",
    "type",
    "resource_name",
    "resource_id",
    "item_type",
    "price",
    "unit",
    "start",
    "end",
    "quantity",
    "total",
)


def bill_csv(bill: Bill) -> str:
    """The bill's lines with the seed's columns, then the category totals and the total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in bill.lines:
        writer.writerow(
            [
                line.kind,
                line.type,
                line.resource_name,
                line.resource_id,
                line.item_type,
                line.unit_price.normalize(),
                line.unit,
                line.start.isoformat(),
                line.end.isoformat(),
                line.quantity.normalize(),
                line.total,
            ]
        )
    for item in CATEGORIES:
        writer.writerow(["total", item, "", "", "", "", "", "", "", "", bill.category(item)])
    writer.writerow(["total", "all", "", "", "", "", "", "", "", "", bill.total])
    return out.getvalue()


def close_month(
    *, db: Database, clock: Clock, month: str, tenant_id: str | None = None,
    guard: Guard | None = None,
) -> list[str]:
    """Freeze `month` (and earlier open months) for every account, or one; returns who closed.
    Many accounts per transaction, totals in SQL: see `billing.month_close`."""
    return month_close.close_month(
        db=db, clock=clock, month=month, tenant_id=tenant_id, guard=guard
    )


def months_due_for_close(*, db: Database, clock: Clock, delay: timedelta) -> dict[str, str]:
    """Per account, the last month whose end passed more than `delay` ago and is still open
    (accounts that were never charged have nothing to close)."""
    moment = clock.now() - delay
    due: dict[str, str] = {}
    with db.read() as conn:
        for account_id, timezone, last in repo.close_states(conn):
            month = _last_finished_month(moment, ZoneInfo(timezone))
            if last is None or last < month:
                due[account_id] = month
        charged = repo.ever_charged(conn, list(due))
    return {account: month for account, month in due.items() if account in charged}


def _last_finished_month(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return month_key(local.replace(day=1) - timedelta(days=1), tz)


def close_due_months(
    *, db: Database, clock: Clock, delay: timedelta, guard: Guard | None = None
) -> list[str]:
    """Close each account's due month, many accounts per transaction (grouped by month)."""
    by_month: dict[str, list[str]] = {}
    for account, month in months_due_for_close(db=db, clock=clock, delay=delay).items():
        by_month.setdefault(month, []).append(account)
    closed = []
    for month, accounts in sorted(by_month.items()):
        closed += month_close.close_accounts(
            db=db, clock=clock, month=month, ids=accounts, guard=guard
        )
    return closed


def open_month(row: Mapping[Any, Any], month: str) -> str:
    """The month a charge for `month` is billed in: itself, or the first open one after a close."""
    last = row["last_closed_month"]
    return month if last is None or month > last else next_month(last)


# --- The check --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckReport:
    accounts: int
    entries: int
    mismatches: tuple[str, ...]
    duplicate_charges: int

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.duplicate_charges == 0


def check(*, db: Database) -> CheckReport:
    """Every cached balance equals the sum of its journal; no period is charged twice."""
    with db.read() as conn:
        sums, stored = repo.journal_sums(conn), repo.stored_pockets(conn)
        duplicates = repo.duplicate_charges(conn)
        entries = repo.count_entries(conn)
    pockets = sorted(set(sums) | set(stored), key=lambda k: (k[0], k[1] or ""))
    mismatches = [
        f"{a} {p or 'cash'}: stored {stored.get((a, p), 0)}, journal {sums.get((a, p), 0)}"
        for a, p in pockets
        if Decimal(stored.get((a, p), 0)) != Decimal(sums.get((a, p), 0))
    ]
    accounts = len({account for account, _ in stored})
    return CheckReport(accounts, entries, tuple(mismatches), duplicates)


def load_catalog_text(*, db: Database, clock: Clock, text: str) -> tuple[int, int]:
    """Load a catalog file: (new prices, prices in the file). All or nothing: the file is
    checked whole, then its prices and settings are written in one transaction."""
    parsed = catalog_file.parse(text)
    policy_from(parsed.settings)
    with db.begin() as conn:
        added = _add_prices(conn, parsed.products, clock.now())
        repo.save_settings(conn, parsed.settings)
    return added, len(parsed.products)
