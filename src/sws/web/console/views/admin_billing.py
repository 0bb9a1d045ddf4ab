"""Admin billing pages: tenants' balances, top-ups and coupon grants, the price catalog,
unrated usage (and waiving it), enforcement and the dry run of the next suspensions; payments
(search, states, refunds, bank-transfer matching), documents (re-send) and the revenue report.

Every change goes through `sws.billing.service` and is written to the audit log (refusals
too), like the other admin pages. A top-up or a coupon is followed by the low-balance review,
exactly as the API does, so a suspended tenant's instances start again at once.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Query, Response

from sws.billing import service as billing
from sws.billing import standing, unrated
from sws.billing.invoices import service as documents
from sws.billing.model import ITEMS, PAYMENT_TYPES, Coupon, make_product
from sws.billing.payments import bank, refunds, resend, revenue
from sws.billing.payments import service as payments
from sws.billing.payments.model import RefundSpec
from sws.billing.service import AccountView
from sws.errors import Conflict, Invalid, NotFound, SWSError
from sws.identity import service as identity
from sws.money import Money, parse_amount
from sws.paging import PageRequest
from sws.web.api.payments import setup_of
from sws.web.console.context import Admin, AdminPost
from sws.web.console.render import page, redirect
from sws.web.console.routing import ConsoleRoute
from sws.web.console.views.admin_identity import _audited

router = APIRouter(prefix="/admin/billing", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
Filter = Annotated[str, Query(max_length=64)]
ALL = 1000
BACK = "/admin/billing/accounts"


def _amount(text: str, field: str = "amount") -> Decimal:
    """A form's amount as Decimal (never float): thousands commas and outer spaces are dropped,
    the rest is money's one written form, so full-width digits or "5e2" are refused."""
    return parse_amount(text.strip().replace(",", ""), field=field)


def _moment(text: str, field: str) -> datetime:
    """A date (midnight UTC) or an ISO time with a zone from a form."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(datetime.fromisoformat(value).date(), time(), UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise Invalid(f"{field} must be a date (2026-12-31) or a time with a zone",
                      field=field) from error
    if moment.tzinfo is None:
        raise Invalid(f"{field} needs a time zone, e.g. 2026-05-01T00:00:00Z", field=field)
    return moment.astimezone(UTC)


@router.get("/accounts")
def accounts(s: Admin) -> Response:
    db, clock = s.container.db, s.container.clock
    tenants = identity.list_tenants(db=db, limit=ALL, marker=None)
    rows = [(t, billing.peek_account(db=db, clock=clock, tenant_id=t.id)) for t in tenants]
    return page(s, "admin/billing.html", rows=rows, items=ITEMS,
                key=secrets.token_hex(12), today=clock.now().date(),
                names={t.id: t.name for t in tenants},
                unrated=unrated.summary(db=db), warnings=unrated.readiness(db=db),
                next_suspensions=standing.next_suspensions(db=db, clock=clock))


@router.post("/unrated/waive")
def waive_unrated(s: AdminPost, tenant_id: Text = "", item: Text = "",
                  reason: Text = "") -> Response:
    """Waive open unrated usage of one tenant (or all, when blank): never charged; audited."""
    detail = f"tenant={tenant_id or 'all'} item={item or 'all'} reason={reason}"

    def work() -> object:
        waiver = unrated.Waiver(reason=reason, actor=s.principal.user_name,
                                tenant_id=tenant_id or None, item=item or None)
        return unrated.waive(db=s.container.db, clock=s.container.clock, waiver=waiver)

    done = s.gettext("Unrated usage waived.")
    return _audited(s, BACK, done, "billing.unrated_waive", ("tenant", tenant_id or "*"),
                    detail, work)


@router.post("/enforcement")
def set_enforcement(s: AdminPost, tenant_id: Text = "", enforcement: Text = "") -> Response:
    """Turn enforcement on or off for one account (or every account, when blank)."""
    detail = f"tenant={tenant_id or 'all'} enforcement={enforcement}"

    def work() -> object:
        return standing.set_enforcement(
            db=s.container.db, clock=s.container.clock, drivers=s.container.drivers(),
            tenant_id=tenant_id or None, enforcement=enforcement,
            actor=s.principal.user_name,
        )

    done = s.gettext("Enforcement is now %(mode)s.", mode=enforcement)
    return _audited(s, BACK, done, "billing.enforcement", ("tenant", tenant_id or "*"),
                    detail, work)


@router.post("/topups")
def top_up(s: AdminPost, tenant_id: Text = "", amount: Text = "", memo: Text = "",
           idempotency_key: Text = "") -> Response:
    detail = f"tenant={tenant_id} amount={amount} key={idempotency_key}"

    def work() -> AccountView:
        currency = billing.account_currency(db=s.container.db, tenant_id=tenant_id)
        return standing.top_up(
            db=s.container.db, clock=s.container.clock, drivers=s.container.drivers(),
            tenant_id=tenant_id, amount=Money(_amount(amount), currency),
            idempotency_key=idempotency_key or None, memo=memo.strip(),
        )

    done = s.gettext("Top-up of %(amount)s added.", amount=amount)
    return _audited(s, BACK, done, "billing.topup", ("tenant", tenant_id), detail, work)


@router.post("/coupons")
def grant_coupon(
    s: AdminPost, tenant_id: Text = "", amount: Text = "", expires_at: Text = "",
    items: Annotated[list[str], Form()] = [],  # noqa: B006
    idempotency_key: Text = "",
) -> Response:
    detail = f"tenant={tenant_id} amount={amount} expires={expires_at} items={','.join(items)}"

    def work() -> Coupon:
        currency = billing.account_currency(db=s.container.db, tenant_id=tenant_id)
        return standing.grant_coupon(
            db=s.container.db, clock=s.container.clock, drivers=s.container.drivers(),
            tenant_id=tenant_id, amount=Money(_amount(amount), currency),
            expires_at=_moment(expires_at, "expires_at"), items=items[:len(ITEMS)],
            idempotency_key=idempotency_key or None,
        )

    done = s.gettext("Coupon of %(amount)s granted.", amount=amount)
    return _audited(s, BACK, done, "billing.coupon", ("tenant", tenant_id), detail, work)


@router.get("/catalog")
def catalog(s: Admin) -> Response:
    products = sorted(billing.list_prices(db=s.container.db),
                      key=lambda p: (p.item, p.item_type, p.price.currency, p.region,
                                     p.valid_from))
    now = s.container.clock.now()
    return page(s, "admin/billing_catalog.html", products=products, now=now, items=ITEMS,
                payment_types=PAYMENT_TYPES)


@router.post("/catalog")
def add_price(
    s: AdminPost, region: Text = "*", item: Text = "", item_type: Text = "",
    payment_type: Text = "", price: Text = "", currency: Text = "CNY", valid_from: Text = "",
    monthly_cap: Text = "",
) -> Response:
    detail = (f"region={region} item={item} type={item_type} payment={payment_type} "
              f"price={price} {currency} from={valid_from or 'now'}")

    def work() -> object:
        product = make_product(
            region=region.strip() or "*", item=item, item_type=item_type.strip(),
            payment_type=payment_type, price=_amount(price, "price"),
            currency=currency.strip().upper(),
            valid_from=_moment(valid_from, "valid_from") if valid_from.strip()
            else s.container.clock.now(),
            monthly_cap=_amount(monthly_cap, "monthly_cap") if monthly_cap.strip() else None,
        )
        billing.add_prices(db=s.container.db, clock=s.container.clock, products=[product])
        return product

    done = s.gettext("Price added to the catalog.")
    return _audited(s, "/admin/billing/catalog", done, "billing.price_add",
                    ("product", f"{item}/{item_type}"), detail, work)


# --- Payments, documents, revenue -------------------------------------------------------------

PAYMENTS = "/admin/billing/payments"
STATES = ("pending", "succeeded", "failed", "expired", "refunded")


@router.get("/payments")
def payments_page(s: Admin, q: Filter = "", state: Filter = "") -> Response:
    """Payments newest first: one tenant's (by name or id) or one payment (its id), one state."""
    db = s.container.db
    tenants = identity.list_tenants(db=db, limit=ALL, marker=None)
    names = {t.id: t.name for t in tenants}
    wanted = q.strip()
    if wanted.startswith("pay_"):
        try:
            found = [bank.payment(db=db, payment_id=wanted)]
        except NotFound:
            found = []
    else:
        tenant = next((t.id for t in tenants if wanted in (t.name, t.id)), None)
        found = [] if wanted and tenant is None else payments.list_payments(
            db=db, tenant_id=tenant, limit=200, state=state or None)
    return page(s, "admin/payments.html", payments=found, names=names, q=q, state=state,
                states=STATES, key=secrets.token_hex(12))


@router.post("/payments/{payment_id}/refund")
def refund(s: AdminPost, payment_id: str, amount: Text = "", reason: Text = "",
           idempotency_key: Text = "") -> Response:
    """Refund all or part of a payment through its provider; audited, refusals too."""
    detail = f"payment={payment_id} amount={amount} reason={reason}"

    def work() -> object:
        found = bank.payment(db=s.container.db, payment_id=payment_id)
        spec = RefundSpec(payment_id=payment_id,
                          amount=Money(_amount(amount), found.amount.currency),
                          idempotency_key=idempotency_key, reason=reason,
                          actor=s.principal.user_name)
        return refunds.refund_payment(db=s.container.db, clock=s.container.clock,
                                      setup=setup_of(s.container), spec=spec)

    done = s.gettext("Refund of %(amount)s made.", amount=amount)
    return _audited(s, PAYMENTS, done, "billing.refund", ("payment", payment_id), detail, work)


@router.post("/transfers")
def match_transfer(s: AdminPost, reference: Text = "", amount: Text = "",
                   bank_transaction_id: Text = "") -> Response:
    """Credit a bank transfer to the tenant whose reference it carries, once per bank id."""
    detail = f"reference={reference} amount={amount} bank_id={bank_transaction_id}"

    def work() -> object:
        tenant = bank.tenant_of_reference(db=s.container.db, reference=reference)
        currency = billing.account_currency(db=s.container.db, tenant_id=tenant)
        match = bank.TransferMatch(reference=reference,
                                   amount=Money(_amount(amount), currency),
                                   bank_transaction_id=bank_transaction_id.strip(),
                                   actor=s.principal.user_name)
        applied = bank.match_transfer(db=s.container.db, clock=s.container.clock,
                                      setup=setup_of(s.container), match=match)
        if applied.duplicate:
            raise Conflict(s.gettext("This bank transaction was matched before: nothing "
                                     "credited again."), field="bank_transaction_id")
        standing.review_account(db=s.container.db, clock=s.container.clock,
                                drivers=s.container.drivers(), account_id=applied.tenant_id)
        return applied

    done = s.gettext("Transfer of %(amount)s credited.", amount=amount)
    return _audited(s, PAYMENTS, done, "billing.transfer_match",
                    ("bank_transaction", bank_transaction_id), detail, work)


@router.get("/documents")
def documents_page(s: Admin) -> Response:
    found = documents.list_documents(db=s.container.db, tenant_id=None, page=PageRequest(200))
    tenants = identity.list_tenants(db=s.container.db, limit=ALL, marker=None)
    return page(s, "admin/documents.html", documents=found,
                names={t.id: t.name for t in tenants})


@router.post("/documents/{document_id}/resend")
def resend_document(s: AdminPost, document_id: str) -> Response:
    def work() -> object:
        return resend.resend_document(db=s.container.db, clock=s.container.clock,
                                      document_id=document_id, actor=s.principal.user_name)

    return _audited(s, "/admin/billing/documents", s.gettext("Sent again."),
                    "billing.document_resend", ("document", document_id), "", work)


@router.get("/revenue")
def revenue_page(s: Admin, month: Filter = "") -> Response:
    """Cash in per region, coupons granted and spent, and the credit outstanding."""
    chosen = month.strip() or s.container.clock.now().strftime("%Y-%m")
    try:
        found = revenue.report(db=s.container.db, clock=s.container.clock, month=chosen)
    except SWSError as error:
        return redirect(s, "/admin/billing/revenue", [("error", error.detail)])
    return page(s, "admin/revenue.html", report=found, month=chosen)
