"""Billing routes: the caller's account, bills (JSON and CSV) and prices; admin top-ups,
coupons, account terms and the catalog. Amounts travel as decimal strings, never floats."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sws.billing import estimate as estimates
from sws.billing import service as billing
from sws.billing import standing
from sws.billing.model import ITEMS, Bill, Product, make_product
from sws.billing.service import AccountView
from sws.errors import Invalid
from sws.money import Money, parse_amount
from sws.web.deps import Admin, Caller, Page, Paged, Services

router = APIRouter(prefix="/v1/billing", tags=["billing"])
admin_router = APIRouter(prefix="/v1/admin/billing", tags=["billing", "admin"])
MonthText = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]
TenantId = Annotated[str, Path(max_length=64)]


def _amount(value: Any) -> Any:
    """Money arrives in its one written form ("10.50") or as an integer; never a float."""
    if isinstance(value, Decimal):
        return value
    try:
        return parse_amount(value)
    except Invalid as error:
        raise ValueError(error.detail) from None


Amount = Annotated[Decimal, BeforeValidator(_amount)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CouponRead(BaseModel):
    id: str
    amount: Decimal
    remaining: Decimal
    currency: str
    expires_at: datetime
    items: list[str]


class AccountRead(BaseModel):
    tenant_id: str
    currency: str
    payment_mode: str
    balance: Decimal
    coupon_balance: Decimal
    credit_limit: Decimal
    available: Decimal
    low_balance_threshold: Decimal
    status: str
    grace_until: datetime | None
    coupons: list[CouponRead]


class BillLineRead(BaseModel):
    kind: str
    type: str
    resource_name: str
    resource_id: str
    item_type: str
    price: Decimal
    unit: str
    start: datetime
    end: datetime
    quantity: Decimal
    total: Decimal


class BillRead(BaseModel):
    month: str
    currency: str
    closed: bool
    total: Decimal
    instance: Decimal
    bandwidth: Decimal
    cdn: Decimal
    floating_ip: Decimal
    load_balancer: Decimal
    object_storage: Decimal
    volume: Decimal
    volume_snapshot: Decimal
    lines: list[BillLineRead] | None = None


class CategoryEstimateRead(BaseModel):
    item: str = Field(description="the bill's category: instance, bandwidth, floating_ip ...")
    charged: Decimal = Field(description="on the bill so far")
    accrued: Decimal = Field(description="used since the last charge, not charged yet")
    month_to_date: Decimal = Field(description="charged + accrued, rounded per line as bills are")
    projected: Decimal = Field(description="a projection to the month's end, not a charge")


class DayEstimateRead(BaseModel):
    day: date
    total: Decimal
    items: dict[str, Decimal] = Field(description="by category; periods that began this day")


class EstimateRead(BaseModel):
    month: str
    currency: str
    as_of: datetime
    charged: Decimal
    accrued: Decimal
    month_to_date: Decimal
    projected: Decimal
    categories: list[CategoryEstimateRead]
    days: list[DayEstimateRead]
    note: str


ESTIMATE_NOTE = (
    "An estimate, not a charge: the month's charges plus what running resources have used "
    "since their last charge, at the catalog's prices; the projection assumes what runs now "
    "keeps running until the month ends. The bill is the truth."
)


class PriceRead(BaseModel):
    id: str
    region: str
    item: str
    item_type: str
    payment_type: str
    price: Decimal
    currency: str
    unit: str
    monthly_cap: Decimal | None
    valid_from: datetime
    valid_until: datetime | None


class PriceCreate(Body):
    region: str = Field(default="*", min_length=1, max_length=64)
    item: Literal["instance", "floating_ip", "load_balancer", "bandwidth", "cdn",
                  "object_storage", "volume", "volume_snapshot"]
    item_type: str = Field(default="standard", min_length=1, max_length=64)
    payment_type: Literal["per_second", "per_started_hour", "daily", "monthly_prepaid", "per_unit"]
    price: Amount = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    valid_from: datetime | None = None
    monthly_cap: Amount | None = Field(default=None, ge=0)


class TopUpCreate(Body):
    amount: Amount = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    idempotency_key: str = Field(
        min_length=1, max_length=128,
        description="required: the same top-up sent again adds nothing; reused for another, 409",
    )
    memo: str = Field(default="", max_length=200)


class CouponCreate(Body):
    amount: Amount = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    expires_at: datetime
    items: list[str] = Field(default_factory=list, max_length=len(ITEMS))
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)


class AccountUpdate(Body):
    payment_mode: Literal["prepaid", "postpaid"] | None = None
    credit_limit: Amount | None = Field(default=None, ge=0)
    low_balance_threshold: Amount | None = Field(default=None, ge=0)


def account_read(account: AccountView) -> AccountRead:
    coupons = [
        CouponRead(
            id=c.id,
            amount=c.amount.amount,
            remaining=c.remaining.amount,
            currency=c.amount.currency,
            expires_at=c.expires_at,
            items=sorted(c.items),
        )
        for c in account.coupons
    ]
    return AccountRead(
        tenant_id=account.id,
        currency=account.currency,
        payment_mode=account.payment_mode,
        balance=account.balance.amount,
        coupon_balance=account.coupon_balance.amount,
        credit_limit=account.credit_limit.amount,
        available=account.available.amount,
        low_balance_threshold=account.low_balance_threshold.amount,
        status=account.status,
        grace_until=account.grace_until,
        coupons=coupons,
    )


def bill_read(bill: Bill, *, lines: bool) -> BillRead:
    totals = {item: bill.category(item) for item in ITEMS}
    rows = [
        BillLineRead(
            kind=x.kind,
            type=x.type,
            resource_name=x.resource_name,
            resource_id=x.resource_id,
            item_type=x.item_type,
            price=x.unit_price,
            unit=x.unit,
            start=x.start,
            end=x.end,
            quantity=x.quantity,
            total=x.total,
        )
        for x in bill.lines
    ]
    return BillRead(
        month=bill.month,
        currency=bill.currency,
        closed=bill.closed,
        total=bill.total,
        lines=rows if lines else None,
        **totals,
    )


def price_read(product: Product) -> PriceRead:
    cap = product.monthly_cap.amount if product.monthly_cap else None
    return PriceRead(
        id=product.id,
        region=product.region,
        item=product.item,
        item_type=product.item_type,
        payment_type=product.payment_type,
        price=product.price.amount,
        currency=product.price.currency,
        unit=product.unit,
        monthly_cap=cap,
        valid_from=product.valid_from,
        valid_until=product.valid_until,
    )


@router.get("/account", response_model=AccountRead)
def show_account(caller: Caller, services: Services) -> AccountRead:
    account = billing.get_account(db=services.db, clock=services.clock, tenant_id=caller.tenant_id)
    return account_read(account)


@router.get("/bills", response_model=Page[BillRead])
def list_bills(
    caller: Caller,
    services: Services,
    page: Paged,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> Page[BillRead]:
    """The caller's bills by month; `marker` is the `month` of the last one seen."""
    bills = billing.list_bills(db=services.db, tenant_id=caller.tenant_id, month=month)
    return page.window((bill_read(b, lines=False) for b in bills), key=lambda b: b.month)


@router.get("/bills/{month}.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def bill_csv(month: MonthText, caller: Caller, services: Services) -> Response:
    bill = billing.get_bill(db=services.db, tenant_id=caller.tenant_id, month=month)
    headers = {"Content-Disposition": f'attachment; filename="bill-{month}.csv"'}
    return Response(billing.bill_csv(bill), media_type="text/csv", headers=headers)


@router.get("/bills/{month}", response_model=BillRead)
def show_bill(month: MonthText, caller: Caller, services: Services) -> BillRead:
    bill = billing.get_bill(db=services.db, tenant_id=caller.tenant_id, month=month)
    return bill_read(bill, lines=True)


@router.get("/estimate", response_model=EstimateRead)
def show_estimate(caller: Caller, services: Services) -> EstimateRead:
    """The caller's month to date (charged + accrued) by category and day, and a projection."""
    found = estimates.month_to_date(db=services.db, clock=services.clock,
                                    tenant_id=caller.tenant_id)
    return estimate_read(found)


def estimate_read(found: estimates.Estimate) -> EstimateRead:
    categories = [
        CategoryEstimateRead(item=c.item, charged=c.charged.amount, accrued=c.accrued.amount,
                             month_to_date=c.total.amount, projected=c.projected.amount)
        for c in found.categories
    ]
    days = [DayEstimateRead(day=d.day, total=d.total, items=dict(d.amounts)) for d in found.days]
    return EstimateRead(
        month=found.month, currency=found.currency, as_of=found.as_of,
        charged=found.charged.amount, accrued=found.accrued.amount,
        month_to_date=found.total.amount, projected=found.projected.amount,
        categories=categories, days=days, note=ESTIMATE_NOTE,
    )


@router.get("/prices", response_model=Page[PriceRead])
def list_prices(caller: Caller, services: Services, page: Paged) -> Page[PriceRead]:
    """The prices in effect now, in the caller's currency."""
    account = billing.get_account(db=services.db, clock=services.clock, tenant_id=caller.tenant_id)
    products = billing.list_prices(
        db=services.db, at=services.clock.now(), currency=account.currency
    )
    return page.window(price_read(p) for p in products)


@admin_router.post("/{tenant_id}/topups", status_code=201, response_model=AccountRead)
def top_up(
    tenant_id: TenantId, body: TopUpCreate, _admin: Admin, services: Services
) -> AccountRead:
    """Add cash; a suspended tenant with funds again gets its instances started."""
    account = standing.top_up(
        db=services.db,
        clock=services.clock,
        drivers=services.drivers(),
        tenant_id=tenant_id,
        amount=Money(body.amount, body.currency),
        idempotency_key=body.idempotency_key,
        memo=body.memo,
    )
    return account_read(account)


@admin_router.post("/{tenant_id}/coupons", status_code=201, response_model=CouponRead)
def grant_coupon(
    tenant_id: TenantId, body: CouponCreate, _admin: Admin, services: Services
) -> CouponRead:
    coupon = standing.grant_coupon(
        db=services.db,
        clock=services.clock,
        drivers=services.drivers(),
        tenant_id=tenant_id,
        amount=Money(body.amount, body.currency),
        expires_at=body.expires_at,
        items=body.items,
        idempotency_key=body.idempotency_key,
    )
    return CouponRead(
        id=coupon.id,
        amount=coupon.amount.amount,
        remaining=coupon.remaining.amount,
        currency=coupon.amount.currency,
        expires_at=coupon.expires_at,
        items=sorted(coupon.items),
    )


@admin_router.patch("/{tenant_id}/account", response_model=AccountRead)
def update_account(
    tenant_id: TenantId, body: AccountUpdate, _admin: Admin, services: Services
) -> AccountRead:
    """Prepaid or postpaid, the credit limit and the low-balance threshold."""
    account = standing.update_account(
        db=services.db,
        clock=services.clock,
        drivers=services.drivers(),
        tenant_id=tenant_id,
        payment_mode=body.payment_mode,
        credit_limit=body.credit_limit,
        low_balance_threshold=body.low_balance_threshold,
    )
    return account_read(account)


@admin_router.get("/catalog", response_model=Page[PriceRead])
def show_catalog(
    _admin: Admin, services: Services, page: Paged,
    region: Annotated[str | None, Query(max_length=64)] = None,
    item: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[PriceRead]:
    """Every price, past and future included; optionally one region's or one item's."""
    products = billing.list_prices(db=services.db)
    chosen = (p for p in products if region in (None, p.region) and item in (None, p.item))
    return page.window(price_read(p) for p in chosen)


@admin_router.post("/catalog", status_code=201, response_model=PriceRead)
def add_price(body: PriceCreate, _admin: Admin, services: Services) -> PriceRead:
    """Add a price; a change to an existing one starts now or later, never in the past."""
    product = make_product(
        region=body.region,
        item=body.item,
        item_type=body.item_type,
        payment_type=body.payment_type,
        price=body.price,
        currency=body.currency,
        valid_from=body.valid_from or services.clock.now(),
        monthly_cap=body.monthly_cap,
    )
    billing.add_prices(db=services.db, clock=services.clock, products=[product])
    return price_read(product)
