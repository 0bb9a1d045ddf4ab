"""The documents money movements get: a receipt for a payment, a credit note for a refund."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from sws.billing.invoices import service as documents
from sws.billing.invoices.model import CREDIT_NOTE, RECEIPT, Document, Line
from sws.billing.invoices.service import Issuing
from sws.billing.payments.model import TEST_PROVIDER, Checkout, Refund


def credit_line(provider: str) -> str:
    """A receipt's line for a payment through `provider`; the embedded test provider's says
    that no real money moved (it is labelled as a test provider everywhere it appears)."""
    if provider == TEST_PROVIDER:
        return "Account credit (test provider, no real money)"
    return f"Account credit ({provider})"


def issue_receipt(
    conn: Connection, issuing: Issuing | None, checkout: Checkout, now: datetime
) -> Document:
    """The payment's receipt, in the transaction that credits it."""
    return issue_receipts(conn, issuing, [checkout], now)[0]


def issue_receipts(
    conn: Connection, issuing: Issuing | None, checkouts: Sequence[Checkout], now: datetime
) -> list[Document]:
    """The payments' receipts, in the transaction that credits them (one look-up of the
    buyers, one counter bump per issuer)."""
    if not checkouts:
        return []
    named = documents.buyers(conn, [c.tenant_id for c in checkouts])
    drafts = [
        documents.draft_for(
            conn,
            issuing or Issuing(home=checkout.region),
            kind=RECEIPT,
            region=checkout.region,
            account_id=checkout.tenant_id,
            source_key=f"payment:{checkout.id}",
            lines=(Line(credit_line(checkout.provider), checkout.amount),),
            currency=checkout.amount.currency,
            now=now,
            reference=f"payment {checkout.id}",
            buyer=named[checkout.tenant_id],
        )
        for checkout in checkouts
    ]
    return documents.issue_many(conn, drafts)


def issue_credit_note(
    conn: Connection, issuing: Issuing | None, checkout: Checkout, refund: Refund, now: datetime
) -> Document:
    """The refund's credit note, in the transaction that debits it."""
    issuing = issuing or Issuing(home=checkout.region)
    line = Line(f"Refund of payment {checkout.id}: {refund.reason}"[:200], -refund.amount)
    draft = documents.draft_for(
        conn,
        issuing,
        kind=CREDIT_NOTE,
        region=checkout.region,
        account_id=checkout.tenant_id,
        source_key=f"refund:{refund.id}",
        lines=(line,),
        currency=refund.amount.currency,
        now=now,
        reference=f"refund {refund.id} of payment {checkout.id}",
    )
    return documents.issue(conn, draft)
