"""Document use cases: issue a receipt, an invoice or a credit note once per source, list them,
fetch one as HTML or PDF, and issue the invoices of bills closed since the last pass.

`issue` runs inside the caller's transaction (the payment's credit, the refund's debit), so a
document exists exactly when its money moved; its number is taken from the issuer's counter in
that same transaction and the HTML is rendered there too, so a failure anywhere (a render
included) rolls the number back with everything else.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, RowMapping

from sws.billing.invoices import render
from sws.billing.invoices import repository as repo
from sws.billing.invoices.model import (
    CATEGORIES,
    INVOICE,
    Document,
    Draft,
    Line,
    Party,
    bill_lines,
)
from sws.billing.payments import notices
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import NotFound
from sws.identity import repository as identity_repo
from sws.money import Money
from sws.paging import PageRequest

BATCH = 100


@dataclass(frozen=True)
class Issuing:
    """Who issues documents in each region (the seller) and at what tax rate (0 by default).
    Month invoices come from `home`, the first region."""

    home: str
    sellers: Mapping[str, Party] = field(default_factory=dict)
    tax_rates: Mapping[str, Decimal] = field(default_factory=dict)

    def seller(self, region: str) -> Party:
        return self.sellers.get(region, Party("SWS cloud"))

    def tax_rate(self, region: str) -> Decimal:
        return self.tax_rates.get(region, Decimal(0))


def buyers(conn: Connection, account_ids: Iterable[str]) -> dict[str, Party]:
    """The tenants as their documents name them."""
    ids = sorted(set(account_ids))
    names = identity_repo.tenant_names(conn, ids)
    return {a: Party(names.get(a) or a, tax_id="", address=f"Project {a}") for a in ids}


def issue(conn: Connection, draft: Draft) -> Document:
    """The document for `draft.source_key`: the one issued before, or a new one numbered next
    in its issuer's series, in the caller's transaction."""
    return issue_many(conn, [draft])[0]


def issue_many(conn: Connection, drafts: Sequence[Draft]) -> list[Document]:
    """`issue` for several drafts at once: one look-up, one counter bump per series, one
    insert. Each document's HTML is rendered here, so a render that fails rolls its number
    back with the transaction."""
    earlier = repo.by_sources(conn, [d.source_key for d in drafts])
    fresh = [d for d in drafts if d.source_key not in earlier]
    numbered: dict[str, Document] = {}
    for (issuer, kind), group in _series(fresh).items():
        for number, draft in zip(repo.next_numbers(conn, issuer, kind, len(group)), group,
                                 strict=True):
            numbered[draft.source_key] = Document(f"doc_{secrets.token_hex(10)}", number,
                                                  draft)
    for document in numbered.values():
        render.html(document)
    repo.insert_documents(conn, list(numbered.values()))
    return [earlier.get(d.source_key) or numbered[d.source_key] for d in drafts]


def _series(drafts: Sequence[Draft]) -> dict[tuple[str, str], list[Draft]]:
    """Drafts by (issuer, kind), each source once, in the order given."""
    found: dict[tuple[str, str], dict[str, Draft]] = {}
    for draft in drafts:
        found.setdefault((draft.issuer, draft.kind), {}).setdefault(draft.source_key, draft)
    return {key: list(group.values()) for key, group in found.items()}


def draft_for(
    conn: Connection,
    issuing: Issuing,
    *,
    kind: str,
    region: str,
    account_id: str,
    source_key: str,
    lines: tuple[Line, ...],
    currency: str,
    now: datetime,
    reference: str,
    buyer: Party | None = None,
) -> Draft:
    return Draft(
        kind=kind,
        issuer=region,
        account_id=account_id,
        source_key=source_key,
        seller=issuing.seller(region),
        buyer=buyer or buyers(conn, [account_id])[account_id],
        lines=tuple(Line(line.description, line.amount.rounded()) for line in lines),
        currency=currency,
        tax_rate=issuing.tax_rate(region),
        issued_at=now,
        reference=reference,
    )


# --- Month invoices ---------------------------------------------------------------------------


def issue_month_invoices(*, db: Database, clock: Clock, issuing: Issuing) -> list[Document]:
    """An invoice for each closed bill that has none yet (each in its own transaction)."""
    with db.read() as conn:
        bills = repo.bills_without_invoice(conn, BATCH)
    issued = []
    for bill in bills:
        with db.begin() as conn:
            document = issue(conn, _invoice_draft(conn, issuing, bill, clock.now()))
            notices.document_issued(conn, document, clock.now())
            issued.append(document)
    return issued


def _invoice_draft(conn: Connection, issuing: Issuing, bill: RowMapping, now: datetime) -> Draft:
    currency = bill["currency"]
    categories = {item: Decimal(bill[item]) for item, _ in CATEGORIES}
    lines = bill_lines(categories, currency)
    other = Decimal(bill["total"]) - sum(categories.values(), Decimal(0))
    if other:
        lines += (Line("Other", Money(other, currency)),)
    return draft_for(
        conn,
        issuing,
        kind=INVOICE,
        region=issuing.home,
        account_id=bill["account_id"],
        source_key=f"bill:{bill['account_id']}:{bill['month']}",
        lines=lines,
        currency=currency,
        now=now,
        reference=f"month {bill['month']}",
    )


# --- Reading ----------------------------------------------------------------------------------


def list_documents(
    *, db: Database, tenant_id: str | None, page: PageRequest, kind: str | None = None
) -> list[Document]:
    """The tenant's documents (every tenant's for None: admins), newest first."""
    with db.read() as conn:
        return repo.of_account(conn, tenant_id, page, kind)


def get_document(*, db: Database, tenant_id: str | None, document_id: str) -> Document:
    """One document; another tenant's is a 404 as a missing one is (None: an admin's look)."""
    with db.read() as conn:
        found = repo.get(conn, document_id)
    if found is None or (tenant_id is not None and found.draft.account_id != tenant_id):
        raise NotFound(f"document {document_id} not found", field="invoice_id")
    return found
