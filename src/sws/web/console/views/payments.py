"""Recharge pages of the tenant console: the recharge form (presets, provider choice, the
bank-transfer reference), the payment history, the invoices (receipts, month invoices, credit
notes; HTML and PDF), the auto-recharge settings with the saved card ("Save a card" sends the
tenant to Stripe; the card shows as "Visa •••• 4242" and can be removed), and the embedded test
provider's checkout page with its Pay and Fail buttons.

Everything goes through `sws.billing.payments.service`, the same calls as /v1/payments; the
test provider's buttons send a signed callback down the same path a real provider's takes.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Response
from fastapi.responses import HTMLResponse

from sws.billing import service as billing
from sws.billing.invoices import render
from sws.billing.invoices import service as documents
from sws.billing.payments import autorecharge, bank, cards
from sws.billing.payments import service as payments
from sws.billing.payments.model import (
    FAILED,
    SUCCEEDED,
    TEST_PROVIDER,
    AutoRecharge,
    CheckoutSpec,
)
from sws.billing.payments.testprovider import TestProvider
from sws.errors import Invalid, NotFound, SWSError
from sws.money import Money, parse_amount
from sws.paging import PageRequest
from sws.web.api.payments import setup_of
from sws.web.console import i18n
from sws.web.console.context import Session, Tenant, TenantPost
from sws.web.console.i18n import N_
from sws.web.console.render import attempt, page, redirect
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console/payments", route_class=ConsoleRoute,
                   include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
PRESETS = (Decimal(50), Decimal(100), Decimal(200), Decimal(500), Decimal(1000))
PROVIDERS = {TEST_PROVIDER: N_("Test provider (no real money)"), "stripe": N_("Stripe"),
             "alipay": N_("Alipay"), "bank": N_("Bank transfer")}
STATES = {"pending": N_("Pending"), "succeeded": N_("Succeeded"), "failed": N_("Failed"),
          "expired": N_("Expired"), "refunded": N_("Refunded")}
HISTORY = "/console/payments"
RECHARGE = "/console/payments/recharge"


@router.get("")
def history(s: Tenant) -> Response:
    found = payments.list_payments(db=s.container.db, tenant_id=s.tenant_id)
    return page(s, "payments/history.html", payments=found, states=STATES, providers=PROVIDERS)


@router.get("/recharge")
def recharge(s: Tenant) -> Response:
    account = billing.get_account(db=s.container.db, clock=s.container.clock,
                                  tenant_id=s.tenant_id)
    offered = setup_of(s.container).offered(s.container.default_region)
    presets = [Money(p, account.currency) for p in PRESETS]
    reference = bank.reference_code(db=s.container.db, clock=s.container.clock,
                                    tenant_id=s.tenant_id)
    return page(s, "payments/recharge.html", account=account, presets=presets,
                offered=offered, providers=PROVIDERS, key=secrets.token_hex(16),
                bank_reference=reference)


@router.post("/recharge")
def start(s: TenantPost, amount: Text = "", custom: Text = "", provider: Text = "",
          idempotency_key: Text = "") -> Response:
    """Open the checkout and send the payer to the provider (a double submit: the same one)."""
    try:
        checkout = payments.create_checkout(
            db=s.container.db, clock=s.container.clock, setup=setup_of(s.container),
            spec=_spec(s, custom or amount, provider, idempotency_key),
            return_url=f"{s.request.base_url}console/payments",
        )
    except SWSError as error:
        return redirect(s, RECHARGE, [("error", error.detail)])
    return redirect(s, checkout.redirect_url or HISTORY)


def _spec(s: Session, amount: str, provider: str, key: str) -> CheckoutSpec:
    currency = billing.account_currency(db=s.container.db, tenant_id=s.tenant_id)
    if not amount.strip():
        raise Invalid(s.gettext("Choose or enter an amount."), field="amount")
    value = parse_amount(amount.strip().replace(",", ""))
    return CheckoutSpec(tenant_id=s.tenant_id, provider=provider, amount=Money(value, currency),
                        idempotency_key=key, region=s.container.default_region)


@router.get("/test-provider/{payment_id}")
def test_checkout(s: Tenant, payment_id: str) -> Response:
    checkout = payments.get_payment(db=s.container.db, tenant_id=s.tenant_id,
                                    payment_id=payment_id)
    if checkout.provider != TEST_PROVIDER:
        raise NotFound(s.gettext("There is no such page."))
    return page(s, "payments/test_provider.html", checkout=checkout, states=STATES)


@router.post("/test-provider/{payment_id}")
def test_press(s: TenantPost, payment_id: str, outcome: Text = "") -> Response:
    """The Pay or Fail button: the test provider signs its callback and SWS verifies it."""
    checkout = payments.get_payment(db=s.container.db, tenant_id=s.tenant_id,
                                    payment_id=payment_id)
    provider = setup_of(s.container).provider(TEST_PROVIDER)
    if not isinstance(provider, TestProvider) or outcome not in (SUCCEEDED, FAILED):
        raise NotFound(s.gettext("There is no such page."))
    body, headers = provider.callback(checkout, outcome, at=s.container.clock.now())
    payments.receive_callback(db=s.container.db, clock=s.container.clock,
                              setup=setup_of(s.container), drivers=s.container.drivers(),
                              provider=TEST_PROVIDER, body=body, headers=headers)
    done = (s.gettext("Payment received: %(amount)s.",
                       amount=i18n.money(checkout.amount, s.locale))
            if outcome == SUCCEEDED else s.gettext("The payment failed; nothing was charged."))
    return redirect(s, HISTORY, [("ok" if outcome == SUCCEEDED else "error", done)])


# --- Invoices ---------------------------------------------------------------------------------

KINDS = {"receipt": N_("Receipt"), "invoice": N_("Invoice"), "credit_note": N_("Credit note")}
INVOICES = "/console/payments/invoices"
AUTO = "/console/payments/auto-recharge"


@router.get("/invoices")
def invoices(s: Tenant) -> Response:
    found = documents.list_documents(db=s.container.db, tenant_id=s.tenant_id,
                                     page=PageRequest(200))
    return page(s, "payments/invoices.html", documents=found, kinds=KINDS)


@router.get("/invoices/{document_id}.pdf")
def invoice_pdf(s: Tenant, document_id: str) -> Response:
    found = documents.get_document(db=s.container.db, tenant_id=s.tenant_id,
                                   document_id=document_id)
    return Response(render.pdf(found), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{found.display_number}.pdf"'})


@router.get("/invoices/{document_id}")
def invoice_html(s: Tenant, document_id: str) -> Response:
    found = documents.get_document(db=s.container.db, tenant_id=s.tenant_id,
                                   document_id=document_id)
    return HTMLResponse(render.html(found))


# --- Auto-recharge ----------------------------------------------------------------------------


@router.get("/auto-recharge")
def auto_recharge(s: Tenant) -> Response:
    setting = autorecharge.get_setting(db=s.container.db, tenant_id=s.tenant_id)
    currency = billing.account_currency(db=s.container.db, tenant_id=s.tenant_id)
    setup = setup_of(s.container)
    savers = [n for n, p in setup.providers.items() if hasattr(p, "charge_saved")]
    card = cards.get_card(db=s.container.db, tenant_id=s.tenant_id)
    return page(s, "payments/auto_recharge.html", setting=setting, currency=currency,
                providers=PROVIDERS, savers=savers, card=card,
                saves_cards=_saves_cards(setup))


def _saves_cards(setup: payments.PaymentSetup) -> bool:
    try:
        cards.saver(setup)
    except Invalid:
        return False
    return True


@router.post("/auto-recharge/card")
def save_card(s: TenantPost) -> Response:
    """Save a card: off to the provider's page; its signed event stores the card."""
    try:
        started = cards.start_card_setup(
            db=s.container.db, clock=s.container.clock, setup=setup_of(s.container),
            tenant_id=s.tenant_id, return_url=f"{s.request.base_url}console/payments/auto-recharge")
    except SWSError as error:
        return redirect(s, AUTO, [("error", error.detail)])
    return redirect(s, started.redirect_url or AUTO)


@router.post("/auto-recharge/card/remove")
def remove_card(s: TenantPost) -> Response:
    def work() -> object:
        cards.remove_card(db=s.container.db, clock=s.container.clock,
                          setup=setup_of(s.container), tenant_id=s.tenant_id)
        return None

    return attempt(s, AUTO, s.gettext("The card was removed."), work)


@router.post("/auto-recharge")
def save_auto_recharge(s: TenantPost, enabled: Text = "", threshold: Text = "",
                       amount: Text = "", monthly_cap: Text = "", provider: Text = "",
                       method_ref: Text = "") -> Response:
    """Keep the tenant's threshold, amount and cap; refusals go back with the reason."""
    def work() -> object:
        currency = billing.account_currency(db=s.container.db, tenant_id=s.tenant_id)

        def money(text: str, field: str) -> Money:
            return Money(parse_amount(text.strip().replace(",", "") or "0", field=field),
                         currency)

        setting = AutoRecharge(
            tenant_id=s.tenant_id, enabled=enabled == "on",
            threshold=money(threshold, "threshold"), amount=money(amount, "amount"),
            monthly_cap=money(monthly_cap, "monthly_cap"), provider=provider,
            method_ref=method_ref.strip())
        return autorecharge.save_setting(db=s.container.db, clock=s.container.clock,
                                         setup=setup_of(s.container), setting=setting)

    return attempt(s, AUTO, s.gettext("Auto-recharge saved."), work)
