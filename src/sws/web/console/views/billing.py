"""Billing pages of the tenant console: the account (balances, ledger) and the bills.

Everything comes from `sws.billing.service`, the same calls as /v1/billing/*; the CSV is
`billing.bill_csv`, byte for byte what GET /v1/billing/bills/{month}.csv answers.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response

from sws.billing import service as billing
from sws.billing.model import (
    BANDWIDTH,
    CDN,
    FLOATING_IP,
    INSTANCE,
    LOAD_BALANCER,
    OBJECT_STORAGE,
    VOLUME,
    VOLUME_SNAPSHOT,
)
from sws.identity import service as identity
from sws.money import Money
from sws.web.console import charts, i18n
from sws.web.console.context import Session, Tenant
from sws.web.console.i18n import N_
from sws.web.console.render import page
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console/billing", route_class=ConsoleRoute, include_in_schema=False)
Month = Annotated[str, Query(max_length=7)]
#: The bill's columns, as on the seed's bills (VM, bandwidth, floating IP, load balancer,
#: storage), with the CDN next to bandwidth and the volumes after storage.
CATEGORIES = (
    (INSTANCE, N_("VM")), (BANDWIDTH, N_("Bandwidth")), (CDN, N_("CDN")),
    (FLOATING_IP, N_("Floating IP")),
    (LOAD_BALANCER, N_("Load balancer")), (OBJECT_STORAGE, N_("Object storage")),
    (VOLUME, N_("Volume")), (VOLUME_SNAPSHOT, N_("Volume snapshot")),
)
KINDS = {
    "topup": N_("Top-up"), "coupon_grant": N_("Coupon granted"), "charge": N_("Charge"),
    "refund": N_("Refund"), "adjustment": N_("Adjustment"), "rounding": N_("Rounding"),
}
PAYMENT_MODES = {"prepaid": N_("Prepaid"), "postpaid": N_("Postpaid")}
ACCOUNT_STATUSES = {"ok": N_("In good standing"), "low": N_("Low balance"),
                    "grace": N_("Grace period"), "suspended": N_("Suspended")}
UNITS = {"hour": N_("hour"), "day": N_("day"), "month": N_("month")}
LEDGER_ROWS = 20


@router.get("/account")
def account(s: Tenant) -> Response:
    found = billing.get_account(db=s.container.db, clock=s.container.clock, tenant_id=s.tenant_id)
    entries = billing.recent_entries(db=s.container.db, tenant_id=s.tenant_id, limit=LEDGER_ROWS)
    return page(s, "billing/account.html", account=found, entries=entries, kinds=KINDS,
                modes=PAYMENT_MODES, statuses=ACCOUNT_STATUSES)


def _current_month(s: Session) -> str:
    found = billing.peek_account(db=s.container.db, clock=s.container.clock,
                                 tenant_id=s.tenant_id)
    zone = found.timezone if found else identity.get_tenant(
        db=s.container.db, tenant_id=s.tenant_id).billing_timezone
    now: datetime = s.container.clock.now()
    return now.astimezone(ZoneInfo(zone)).strftime("%Y-%m")


@router.get("/bills")
def bills(s: Tenant, month: Month = "", category: Annotated[str, Query(max_length=32)] = ""
          ) -> Response:
    db = s.container.db
    listed = billing.list_bills(db=db, tenant_id=s.tenant_id)
    current = _current_month(s)
    chosen = month or current
    selected = next((b for b in listed if b.month == chosen), None)
    if selected is None:
        selected = billing.get_bill(db=db, tenant_id=s.tenant_id, month=chosen)  # 422 if bad
    wanted = category if category in dict(CATEGORIES) else ""
    lines = [line for line in selected.lines if not wanted or line.type == wanted]
    currency = selected.currency

    def tick(value: float) -> str:
        return i18n.money(Money(Decimal(str(round(value, 2))), currency), s.locale)

    chart = charts.month_bars({b.month: b.total for b in listed},
                              charts.last_months(max(current, chosen)), chosen, tick)
    return page(
        s, "billing/bills.html", bills=listed, selected=selected, lines=lines,
        categories=CATEGORIES, category=wanted, chart=chart, current=current,
        units=UNITS, cash=lambda amount: Money(amount, currency),
        unit_price=lambda amount: i18n.unit_price(amount, currency, s.locale),
    )


@router.get("/bills/{month}.csv")
def bill_csv(s: Tenant, month: str) -> Response:
    """The same CSV as the API's, for the logged-in tenant (the console has no API token)."""
    bill = billing.get_bill(db=s.container.db, tenant_id=s.tenant_id, month=month)
    headers = {"Content-Disposition": f'attachment; filename="bill-{bill.month}.csv"',
               "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return Response(billing.bill_csv(bill), media_type="text/csv", headers=headers)
