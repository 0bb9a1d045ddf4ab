"""The postings of one transaction: journal rows, cash per account and coupon balances. Pure.

A debit (a charge) spends usable coupons first, soonest to expire first, then cash, which may go
negative (the low-balance rules deal with that). A credit (a top-up, a refund) goes to cash.
Every posting has an idempotency key; the parts of a split debit get `#coupon:<id>` suffixes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sws.billing.model import Coupon, spending_order, split_payment
from sws.money import Money


@dataclass(frozen=True, slots=True)
class Posting:
    key: str
    kind: str
    memo: str
    at: datetime | None = None  # when it happened (a charge: its period); None: now


class Books:
    """Accumulates postings; the service writes them in one go with the rest of the batch."""

    def __init__(self, coupons: Iterable[Coupon], *, now: datetime) -> None:
        self.now = now
        self.entries: list[dict[str, Any]] = []
        self.cash: dict[str, Decimal] = {}
        self.coupons = {coupon.id: coupon for coupon in coupons}
        self.spent: set[str] = set()

    def credit(self, account_id: str, amount: Money, posting: Posting) -> None:
        """Add `amount` to the account's cash."""
        self._entry(account_id, None, amount, posting)

    def debit(self, account_id: str, amount: Money, item: str, posting: Posting) -> None:
        """Take `amount` (>= 0) for `item`: coupons first, then cash."""
        usable = spending_order(
            (c for c in self.coupons.values() if c.account_id == account_id), item, self.now
        )
        for spend in split_payment(amount.amount, usable):
            part = Money(-spend.amount, amount.currency)
            if spend.coupon_id is None:
                self._entry(account_id, None, part, posting)
            else:
                self._spend_coupon(spend.coupon_id, part, posting)

    def _spend_coupon(self, coupon_id: str, part: Money, posting: Posting) -> None:
        coupon = self.coupons[coupon_id]
        self.coupons[coupon_id] = replace(coupon, remaining=coupon.remaining + part)
        self.spent.add(coupon_id)
        keyed = replace(posting, key=f"{posting.key}#coupon:{coupon_id}")
        self._entry(coupon.account_id, coupon_id, part, keyed)

    def _entry(
        self, account_id: str, coupon_id: str | None, amount: Money, posting: Posting
    ) -> None:
        if coupon_id is None:
            self.cash[account_id] = self.cash.get(account_id, Decimal(0)) + amount.amount
        self.entries.append(
            {
                "account_id": account_id,
                "idempotency_key": posting.key,
                "kind": posting.kind,
                "coupon_id": coupon_id,
                "amount": amount.amount,
                "currency": amount.currency,
                "created_at": posting.at or self.now,
                "memo": posting.memo[:255],
            }
        )

    def coupon_remaining(self) -> dict[str, Decimal]:
        return {cid: self.coupons[cid].remaining.amount for cid in sorted(self.spent)}
