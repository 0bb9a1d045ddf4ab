"""Document and money-back routes: the tenant's invoices, receipts and credit notes (JSON, HTML,
PDF), its bank-transfer reference and auto-recharge; the admin's refunds, transfer matching,
re-sending of documents and the revenue report. Amounts travel as decimal strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from sws.billing.invoices import render
from sws.billing.invoices import service as documents
from sws.billing.invoices.model import Document
from sws.billing.payments import autorecharge, bank, refunds, resend, revenue
from sws.billing.payments.model import AutoRecharge, Refund, RefundSpec
from sws.errors import NotFound
from sws.money import Money
from sws.web.api.billing import Amount, Body
from sws.web.api.payments import PaymentRead, payment_read, setup_of
from sws.web.api.responses import problems
from sws.web.deps import Admin, Caller, Page, Paged, Services

router = APIRouter(tags=["invoices"])
DocumentId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PaymentId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Kind = Annotated[Literal["receipt", "invoice", "credit_note"] | None, Query()]
Format = Annotated[Literal["json", "html", "pdf"], Query(alias="format")]


class LineRead(BaseModel):
    description: str
    amount: Decimal


class InvoiceRead(BaseModel):
    id: str
    kind: str
    number: str  # INV-<issuer>-000042
    sequence: int  # 42: gapless per issuer and kind
    issuer: str
    tenant_id: str
    currency: str
    total: Decimal
    net: Decimal
    tax: Decimal
    tax_rate: Decimal
    reference: str
    seller: dict[str, str]
    buyer: dict[str, str]
    lines: list[LineRead]
    issued_at: datetime


def invoice_read(document: Document) -> InvoiceRead:
    d = document.draft
    return InvoiceRead(
        id=document.id,
        kind=d.kind,
        number=document.display_number,
        sequence=document.number,
        issuer=d.issuer,
        tenant_id=d.account_id,
        currency=d.currency,
        total=d.total.amount,
        net=d.net.amount,
        tax=d.tax.amount,
        tax_rate=d.tax_rate,
        reference=d.reference,
        seller={"name": d.seller.name, "address": d.seller.address, "tax_id": d.seller.tax_id},
        buyer={"name": d.buyer.name, "address": d.buyer.address, "tax_id": d.buyer.tax_id},
        lines=[LineRead(description=x.description, amount=x.amount.amount) for x in d.lines],
        issued_at=d.issued_at,
    )


def _as(document: Document, fmt: str) -> Response:
    if fmt == "pdf":
        return Response(
            render.pdf(document),
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{document.display_number}.pdf"'
            },
        )
    if fmt == "html":
        return HTMLResponse(render.html(document))
    return Response(invoice_read(document).model_dump_json(), media_type="application/json")


# --- The tenant -------------------------------------------------------------------------------


@router.get("/v1/invoices", response_model=Page[InvoiceRead])
def list_invoices(
    caller: Caller, services: Services, page: Paged, kind: Kind = None
) -> Page[InvoiceRead]:
    """The caller's receipts, invoices and credit notes, newest first (`kind` keeps one)."""
    found = documents.list_documents(
        db=services.db, tenant_id=caller.tenant_id, page=page.request, kind=kind
    )
    return page.of([invoice_read(d) for d in found])


@router.get("/v1/invoices/{invoice_id}.pdf", response_class=Response)
def invoice_pdf(invoice_id: DocumentId, caller: Caller, services: Services) -> Response:
    """The document as PDF."""
    return _as(_own(services, caller.tenant_id, invoice_id), "pdf")


@router.get("/v1/invoices/{invoice_id}.html", response_class=HTMLResponse)
def invoice_html(invoice_id: DocumentId, caller: Caller, services: Services) -> Response:
    """The document as an HTML page."""
    return _as(_own(services, caller.tenant_id, invoice_id), "html")


@router.get("/v1/invoices/{invoice_id}", response_model=InvoiceRead)
def get_invoice(
    invoice_id: DocumentId, caller: Caller, services: Services, format: Format = "json"
) -> Response:
    """One document: JSON, or `?format=pdf` / `?format=html`. Another tenant's is a 404."""
    return _as(_own(services, caller.tenant_id, invoice_id), format)


def _own(services: Services, tenant_id: str | None, invoice_id: str) -> Document:
    return documents.get_document(db=services.db, tenant_id=tenant_id, document_id=invoice_id)


class BankTransferRead(BaseModel):
    reference: str  # write it on the transfer
    tenant_id: str


@router.get("/v1/payments/bank-transfer", response_model=BankTransferRead, tags=["payments"])
def bank_transfer(caller: Caller, services: Services) -> BankTransferRead:
    """The reference to write on a bank transfer to this cloud (made on first ask)."""
    code = bank.reference_code(db=services.db, clock=services.clock, tenant_id=caller.tenant_id)
    return BankTransferRead(reference=code, tenant_id=caller.tenant_id)


class AutoRechargeWrite(Body):
    enabled: bool
    threshold: Amount = Field(ge=0)
    amount: Amount = Field(gt=0)
    monthly_cap: Amount = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    provider: str = Field(min_length=1, max_length=32)
    method_ref: str = Field(
        min_length=1,
        max_length=255,
        description="the saved payment method (test provider: test_card)",
    )
    customer_ref: str | None = Field(default=None, max_length=255)


class AutoRechargeRead(BaseModel):
    enabled: bool
    threshold: Decimal
    amount: Decimal
    monthly_cap: Decimal
    currency: str
    provider: str
    method_ref: str
    armed: bool


def auto_read(setting: AutoRecharge) -> AutoRechargeRead:
    return AutoRechargeRead(
        enabled=setting.enabled,
        threshold=setting.threshold.amount,
        amount=setting.amount.amount,
        monthly_cap=setting.monthly_cap.amount,
        currency=setting.amount.currency,
        provider=setting.provider,
        method_ref=setting.method_ref,
        armed=setting.armed,
    )


@router.get(
    "/v1/payments/auto-recharge",
    response_model=AutoRechargeRead,
    tags=["payments"],
    responses=problems(404),
)
def get_auto_recharge(caller: Caller, services: Services) -> AutoRechargeRead:
    setting = autorecharge.get_setting(db=services.db, tenant_id=caller.tenant_id)
    if setting is None:
        raise NotFound("auto-recharge is not set up for this account")
    return auto_read(setting)


@router.put("/v1/payments/auto-recharge", response_model=AutoRechargeRead, tags=["payments"])
def put_auto_recharge(
    body: AutoRechargeWrite, caller: Caller, services: Services
) -> AutoRechargeRead:
    """Set the threshold, the amount and the monthly cap; the sweep charges at most once per
    crossing of the threshold."""
    currency = body.currency.upper()
    setting = AutoRecharge(
        tenant_id=caller.tenant_id,
        enabled=body.enabled,
        threshold=Money(body.threshold, currency),
        amount=Money(body.amount, currency),
        monthly_cap=Money(body.monthly_cap, currency),
        provider=body.provider,
        method_ref=body.method_ref,
        customer_ref=body.customer_ref,
    )
    return auto_read(
        autorecharge.save_setting(
            db=services.db, clock=services.clock, setup=setup_of(services), setting=setting
        )
    )


# --- The admin --------------------------------------------------------------------------------


@router.get("/v1/admin/invoices", response_model=Page[InvoiceRead], tags=["admin"])
def admin_list_invoices(
    _admin: Admin,
    services: Services,
    page: Paged,
    kind: Kind = None,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[InvoiceRead]:
    found = documents.list_documents(
        db=services.db, tenant_id=tenant_id, page=page.request, kind=kind
    )
    return page.of([invoice_read(d) for d in found])


class ResendRead(BaseModel):
    id: str
    queued: int  # mails added to the outbox (one per address of the tenant)


@router.post(
    "/v1/admin/invoices/{invoice_id}/resend",
    response_model=ResendRead,
    status_code=202,
    tags=["admin"],
)
def admin_resend(invoice_id: DocumentId, admin: Admin, services: Services) -> ResendRead:
    """Mail the document (with its PDF) to the tenant again."""
    queued = resend.resend_document(
        db=services.db, clock=services.clock, document_id=invoice_id, actor=admin.user_name
    )
    return ResendRead(id=invoice_id, queued=queued)


class RefundCreate(Body):
    amount: Amount = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    reason: str = Field(min_length=1, max_length=255)
    idempotency_key: str = Field(min_length=1, max_length=128)


class RefundRead(BaseModel):
    id: str
    payment_id: str
    tenant_id: str
    amount: Decimal
    currency: str
    state: str
    reason: str
    provider_ref: str | None
    error: str | None
    created_at: datetime


def refund_read(refund: Refund) -> RefundRead:
    return RefundRead(
        id=refund.id,
        payment_id=refund.payment_id,
        tenant_id=refund.tenant_id,
        amount=refund.amount.amount,
        currency=refund.amount.currency,
        state=refund.state,
        reason=refund.reason,
        provider_ref=refund.provider_ref,
        error=refund.error,
        created_at=refund.created_at,
    )


@router.post(
    "/v1/admin/payments/{payment_id}/refunds",
    response_model=RefundRead,
    status_code=201,
    tags=["admin", "payments"],
)
def admin_refund(
    payment_id: PaymentId, body: RefundCreate, admin: Admin, services: Services
) -> RefundRead:
    """Refund all or part of a succeeded payment through its provider; never more in all than
    was paid. The same idempotency_key again answers the same refund."""
    spec = RefundSpec(
        payment_id=payment_id,
        amount=Money(body.amount, body.currency.upper()),
        idempotency_key=body.idempotency_key,
        reason=body.reason,
        actor=admin.user_name,
    )
    return refund_read(
        refunds.refund_payment(
            db=services.db, clock=services.clock, setup=setup_of(services), spec=spec
        )
    )


@router.get(
    "/v1/admin/payments/{payment_id}/refunds",
    response_model=list[RefundRead],
    tags=["admin", "payments"],
)
def admin_refunds(payment_id: PaymentId, _admin: Admin, services: Services) -> list[RefundRead]:
    return [refund_read(r) for r in refunds.list_refunds(db=services.db, payment_id=payment_id)]


class TransferMatchCreate(Body):
    reference: str = Field(min_length=1, max_length=32)
    amount: Amount = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    bank_transaction_id: str = Field(min_length=1, max_length=128)


class TransferMatchRead(BaseModel):
    payment: PaymentRead
    duplicate: bool  # this bank transaction was matched before: nothing credited again


@router.post(
    "/v1/admin/bank-transfers",
    response_model=TransferMatchRead,
    status_code=201,
    tags=["admin", "payments"],
)
def admin_match_transfer(
    body: TransferMatchCreate, admin: Admin, services: Services
) -> TransferMatchRead:
    """Credit a bank transfer to the tenant whose reference it carries, once per bank
    transaction id."""
    match = bank.TransferMatch(
        reference=body.reference,
        amount=Money(body.amount, body.currency.upper()),
        bank_transaction_id=body.bank_transaction_id,
        actor=admin.user_name,
    )
    applied = bank.match_transfer(
        db=services.db, clock=services.clock, setup=setup_of(services), match=match
    )
    checkout = bank.payment(db=services.db, payment_id=applied.payment_id)
    return TransferMatchRead(payment=payment_read(checkout), duplicate=applied.duplicate)


class RegionRevenueRead(BaseModel):
    region: str
    currency: str
    cash_in: Decimal
    refunded: Decimal
    net: Decimal


class MoneyRead(BaseModel):
    amount: Decimal
    currency: str


class RevenueRead(BaseModel):
    month: str
    regions: list[RegionRevenueRead]
    coupons_granted: list[MoneyRead]
    coupons_spent: list[MoneyRead]
    outstanding_cash: list[MoneyRead]
    outstanding_coupons: list[MoneyRead]


def _money(values: tuple[Money, ...]) -> list[MoneyRead]:
    return [MoneyRead(amount=m.amount, currency=m.currency) for m in values]


@router.get("/v1/admin/revenue", response_model=RevenueRead, tags=["admin", "payments"])
def admin_revenue(
    _admin: Admin, services: Services, month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")]
) -> RevenueRead:
    """Cash in per region, coupons granted and spent in `month` (UTC), credit outstanding."""
    found = revenue.report(db=services.db, clock=services.clock, month=month)
    return RevenueRead(
        month=found.month,
        regions=[
            RegionRevenueRead(
                region=r.region,
                currency=r.cash_in.currency,
                cash_in=r.cash_in.amount,
                refunded=r.refunded.amount,
                net=r.net.amount,
            )
            for r in found.regions
        ],
        coupons_granted=_money(found.coupons_granted),
        coupons_spent=_money(found.coupons_spent),
        outstanding_cash=_money(found.outstanding_cash),
        outstanding_coupons=_money(found.outstanding_coupons),
    )
