"""Property: month invoices (issue 15 §5) keep their numbers gapless whatever happens between
them. Random interleavings of months closing for several tenants, ticker runs issuing their
invoices (repeated, so a run finds what an earlier one did), runs whose render breaks on some
document (the failed one rolls back with its number; the run stops there), and receipts of
payments in between (another series of the same issuer) leave

- every series numbered 1..N, each number once;
- at most one invoice per closed bill, and exactly one once a run has gone through cleanly.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from sws.billing import service as billing
from sws.billing.invoices import render
from sws.billing.invoices import service as documents
from sws.billing.invoices.model import Document
from sws.billing.invoices.service import Issuing
from sws.billing.invoices.tables import billing_documents
from sws.billing.tables import billing_bills
from sws.identity import service as identity
from tests.budget import examples
from tests.unit.payments.conftest import REGION, Till
from tests.unit.payments.test_money_properties import _assert_numbers  # every series 1..N

CATEGORIES = ("instance", "bandwidth", "floating_ip", "load_balancer", "object_storage", "cdn",
              "volume", "volume_snapshot")
step = st.one_of(
    st.tuples(st.just("close"), st.integers(0, 2), st.integers(1, 12)),
    st.tuples(st.just("issue"), st.just(0), st.just(0)),
    st.tuples(st.just("issue_breaking"), st.integers(1, 3), st.just(0)),
    st.tuples(st.just("pay"), st.integers(1, 9999), st.just(0)),
)


class BrokenTemplate(Exception):
    """The HTML render of one document fails."""


@settings(max_examples=examples(30), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, max_size=25))
def test_any_interleaving_of_month_closes_issues_and_broken_renders_keeps_numbers_gapless(
    till: Till, steps: list[tuple[str, int, int]]
) -> None:
    tenants = [_tenant(till) for _ in range(3)]
    issuing = Issuing(home=REGION)
    closed: set[tuple[str, str]] = set()
    for number, (kind, n, detail) in enumerate(steps):
        if kind == "close" and (tenants[n], f"2025-{detail:02d}") not in closed:
            closed.add((tenants[n], f"2025-{detail:02d}"))
            _close(till, tenants[n], f"2025-{detail:02d}", Decimal(detail))
        elif kind == "issue":
            documents.issue_month_invoices(db=till.db, clock=till.clock, issuing=issuing)
        elif kind == "issue_breaking":
            _issue_breaking_on(till, issuing, n)
        elif kind == "pay":
            till.press(till.checkout(f"{n / 100:.2f}", key=f"p{number}-{uuid.uuid4().hex}"))
        _assert_numbers(till)
        assert all(count == 1 for count in _invoices_per_bill(till, tenants).values())

    documents.issue_month_invoices(db=till.db, clock=till.clock, issuing=issuing)  # a clean run

    _assert_numbers(till)
    assert _invoices_per_bill(till, tenants) == dict.fromkeys(closed, 1)


def _tenant(till: Till) -> str:
    tenant = identity.create_tenant(db=till.db, clock=till.clock,
                                    name=f"t-{uuid.uuid4().hex[:12]}", currency="CNY",
                                    billing_timezone="UTC").id
    billing.get_account(db=till.db, clock=till.clock, tenant_id=tenant)  # its account exists
    return tenant


def _close(till: Till, tenant: str, month: str, amount: Decimal) -> None:
    """The month's bill, closed as the farmer closes it (all of it on instances)."""
    row = dict.fromkeys(CATEGORIES, Decimal(0))
    with till.db.begin() as conn:
        conn.execute(insert(billing_bills), {
            **row, "account_id": tenant, "month": month, "currency": "CNY", "total": amount,
            "instance": amount, "closed_at": datetime(2026, 1, 1, tzinfo=UTC),
        })


def _issue_breaking_on(till: Till, issuing: Issuing, nth: int) -> None:
    """A ticker run whose template breaks on the `nth` document it renders."""
    original, rendered = render.html, []

    def breaking(document: Document) -> str:
        rendered.append(document)
        if len(rendered) == nth:
            raise BrokenTemplate(f"template broke on {document.display_number}")
        return original(document)

    render.html = breaking  # type: ignore[assignment]
    try:
        documents.issue_month_invoices(db=till.db, clock=till.clock, issuing=issuing)
    except BrokenTemplate:
        pass
    finally:
        render.html = original  # type: ignore[assignment]


def _invoices_per_bill(till: Till, tenants: list[str]) -> dict[tuple[str, str], int]:
    d = billing_documents.c
    with till.db.read() as conn:
        sources = conn.execute(
            select(d.source_key).where(d.kind == "invoice", d.account_id.in_(tenants))
        ).scalars()
        counted = Counter(str(s) for s in sources)
    return {tuple(key.split(":")[1:3]): n for key, n in counted.items()}  # type: ignore[misc]
