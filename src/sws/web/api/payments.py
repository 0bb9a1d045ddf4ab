"""Payment routes: open a checkout, list the tenant's payments, and the providers' callbacks
(no auth: the provider's signature decides). Amounts travel as decimal strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from sws.billing.payments import service as payments
from sws.billing.payments.model import Checkout, CheckoutSpec
from sws.billing.payments.service import PaymentSetup
from sws.bootstrap import Container
from sws.errors import NotFound
from sws.money import Money
from sws.web.api.billing import Amount, Body
from sws.web.deps import Admin, Caller, Page, Paged, Services

router = APIRouter(prefix="/v1/payments", tags=["payments"])
admin_router = APIRouter(prefix="/v1/admin", tags=["payments", "admin"])
ProviderName = Annotated[str, Path(max_length=32, pattern=r"^[a-z0-9_-]+$")]
RETURN_PATH = "console/payments"


class CheckoutCreate(Body):
    amount: Amount = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    provider: str = Field(min_length=1, max_length=32)
    idempotency_key: str = Field(min_length=1, max_length=128)
    region: str | None = Field(default=None, min_length=1, max_length=64)


class PaymentRead(BaseModel):
    id: str
    tenant_id: str
    provider: str
    region: str
    amount: Decimal
    currency: str
    state: str
    redirect_url: str | None
    created_at: datetime
    updated_at: datetime


def payment_read(checkout: Checkout) -> PaymentRead:
    return PaymentRead(
        id=checkout.id, tenant_id=checkout.tenant_id, provider=checkout.provider,
        region=checkout.region,
        amount=checkout.amount.amount, currency=checkout.amount.currency, state=checkout.state,
        redirect_url=checkout.redirect_url, created_at=checkout.created_at,
        updated_at=checkout.updated_at,
    )


def setup_of(container: Container) -> PaymentSetup:
    if container.payments is None:
        raise NotFound("payments are not set up in this SWS")
    return container.payments.setup


@router.post("/checkouts", status_code=201, response_model=PaymentRead)
def create_checkout(
    body: CheckoutCreate, caller: Caller, services: Services, request: Request
) -> PaymentRead:
    """Open a checkout; send the payer to its `redirect_url`. The same idempotency_key again
    answers the same checkout."""
    spec = CheckoutSpec(
        tenant_id=caller.tenant_id, provider=body.provider,
        amount=Money(body.amount, body.currency.upper()),
        idempotency_key=body.idempotency_key, region=body.region or services.default_region,
    )
    checkout = payments.create_checkout(
        db=services.db, clock=services.clock, setup=setup_of(services), spec=spec,
        return_url=f"{request.base_url}{RETURN_PATH}",
    )
    return payment_read(checkout)


@router.get("", response_model=Page[PaymentRead])
def list_payments(caller: Caller, services: Services, page: Paged) -> Page[PaymentRead]:
    """The caller's payments, newest first."""
    found = payments.list_payments(
        db=services.db, tenant_id=caller.tenant_id, limit=page.limit, marker=page.marker
    )
    return page.of([payment_read(c) for c in found])


@admin_router.get("/payments", response_model=Page[PaymentRead])
def admin_list_payments(
    _admin: Admin, services: Services, page: Paged,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[PaymentRead]:
    """Every tenant's payments (or one tenant's), newest first, optionally in one state."""
    found = payments.list_payments(
        db=services.db, tenant_id=tenant_id, limit=page.limit, marker=page.marker, state=state
    )
    return page.of([payment_read(c) for c in found])


@router.post(
    "/callbacks/{provider}", status_code=200, openapi_extra={"x-sws-any-query": True}
)
async def callback(
    provider: ProviderName, request: Request, services: Services
) -> Response:
    """A provider's notification. A replay answers 200 and changes nothing; a bad signature,
    a stale timestamp, a wrong amount or an unknown payment is a 4xx and a dead letter."""
    body = await request.body()
    result = await run_in_threadpool(_apply, services, provider, body, dict(request.headers))
    ack = payments.acknowledgement(setup_of(services), provider)
    return PlainTextResponse(ack) if ack else JSONResponse({"result": result})


def _apply(services: Container, provider: str, body: bytes, headers: dict[str, str]) -> str:
    applied = payments.receive_callback(
        db=services.db, clock=services.clock, setup=setup_of(services),
        drivers=services.drivers(), provider=provider, body=body, headers=headers,
    )
    return "ignored" if applied is None else ("duplicate" if applied.duplicate else "applied")
