"""Top-up idempotency keys are global: two tenants racing with one new key get a 409, not a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import RowMapping, select

from sws.billing import repository as repo
from sws.billing import service as billing
from sws.billing.tables import billing_ledger
from sws.errors import Conflict
from sws.identity import service as identity
from sws.money import Money
from tests.unit.billing.conftest import Books


def _globex(books: Books) -> str:
    return identity.create_tenant(
        db=books.db, clock=books.clock, name="globex", billing_timezone="UTC", currency="CNY"
    ).id


def _top_up(books: Books, tenant_id: str, key: str) -> None:
    billing.top_up(db=books.db, clock=books.clock, tenant_id=tenant_id,
                   amount=Money.of("10", "CNY"), idempotency_key=key)


def test_a_key_taken_by_a_racing_top_up_of_another_tenant_is_a_conflict(
    books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    globex = _globex(books)
    _top_up(books, books.tenant, "order-7")
    # globex's request looked the key up before acme's top-up committed: it saw nothing
    def looked_too_early(conn: object, key: str) -> RowMapping | None:
        return None

    monkeypatch.setattr(repo, "entry_by_key", looked_too_early)
    with pytest.raises(Conflict, match="order-7") as refused:
        _top_up(books, globex, "order-7")
    assert refused.value.field == "idempotency_key"
    with books.db.read() as conn:
        owners = conn.execute(select(billing_ledger.c.account_id)).scalars().all()
    assert owners == [books.tenant]  # nothing of globex's was written


def test_the_same_key_for_another_tenant_afterwards_is_a_conflict_too(books: Books) -> None:
    globex = _globex(books)
    _top_up(books, books.tenant, "order-8")
    with pytest.raises(Conflict, match="order-8"):
        _top_up(books, globex, "order-8")
