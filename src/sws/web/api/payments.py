"""Payment routes: open a checkout, list the tenant's payments, save a card for auto-recharge,
and the providers' callbacks (no auth: the provider's signature decides). Amounts travel as
decimal strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from sws.billing.payments import cards
from sws.billing.payments import service as payments
from sws.billing.payments.cards_model import CardSetup, SavedCard
from sws.billing.payments.model import Checkout, CheckoutSpec
from sws.billing.payments.service import PaymentSetup
from sws.bootstrap import Container
from sws.errors import NotFound
from sws.money import Money
from sws.web.api.billing import Amount, Body
from sws.web.api.responses import problems
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
    return cards.receive_callback(
        db=services.db, clock=services.clock, setup=setup_of(services),
        drivers=services.drivers(), provider=provider, body=body, headers=headers,
    )


# --- The saved card auto-recharge charges -----------------------------------------------------

CARD = "/auto-recharge/card"


class CardSetupRead(BaseModel):
    id: str
    provider: str
    state: str
    redirect_url: str | None = Field(description="where the tenant enters its card")


class SavedCardRead(BaseModel):
    provider: str
    display: str = Field(description='e.g. "Visa •••• 4242"')
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    method_ref: str = Field(description="the card's payment method at the provider; "
                            "PUT /v1/payments/auto-recharge charges it when given as method_ref")
    saved_at: datetime


def card_read(card: SavedCard) -> SavedCardRead:
    d = card.details
    return SavedCardRead(provider=card.provider, display=card.display, brand=d.brand,
                         last4=d.last4, exp_month=d.exp_month, exp_year=d.exp_year,
                         method_ref=d.method_ref, saved_at=card.saved_at)


def setup_read(found: CardSetup) -> CardSetupRead:
    return CardSetupRead(id=found.id, provider=found.provider, state=found.state,
                         redirect_url=found.redirect_url)


@router.post(CARD, status_code=201, response_model=CardSetupRead)
def start_card_setup(caller: Caller, services: Services, request: Request) -> CardSetupRead:
    """Save a card for auto-recharge: send the tenant to `redirect_url` (Stripe Checkout in
    setup mode); the provider's signed event stores the card."""
    return setup_read(cards.start_card_setup(
        db=services.db, clock=services.clock, setup=setup_of(services),
        tenant_id=caller.tenant_id, return_url=f"{request.base_url}console/payments/auto-recharge",
    ))


@router.get(CARD, response_model=SavedCardRead, responses=problems(404))
def get_card(caller: Caller, services: Services) -> SavedCardRead:
    """The saved card (brand, last 4 digits, expiry), which auto-recharge charges."""
    found = cards.get_card(db=services.db, tenant_id=caller.tenant_id)
    if found is None:
        raise NotFound("no card is saved for this account", field="card")
    return card_read(found)


@router.delete(CARD, status_code=204)
def remove_card(caller: Caller, services: Services) -> Response:
    """Remove the saved card (detached at the provider); auto-recharge on it is turned off."""
    cards.remove_card(db=services.db, clock=services.clock, setup=setup_of(services),
                      tenant_id=caller.tenant_id)
    return Response(status_code=204)
