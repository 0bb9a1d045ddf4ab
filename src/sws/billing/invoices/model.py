"""Documents as pure values: receipts, invoices and credit notes, their lines and tax.

Amounts on documents are what the tenant paid or was charged, tax included: a document's tax
is `total * rate / (1 + rate)`, rounded half-up to the currency's minor unit, and its net is
the total less that tax. The rate is the issuing region's (0 unless the operator sets one).
Each issuer (a region's seller) numbers each kind of document 1, 2, 3, ... with no gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sws.money import MINOR_UNITS, Money

RECEIPT, INVOICE, CREDIT_NOTE = "receipt", "invoice", "credit_note"
KINDS = (RECEIPT, INVOICE, CREDIT_NOTE)
PREFIX = {RECEIPT: "RCT", INVOICE: "INV", CREDIT_NOTE: "CRN"}
TITLE = {RECEIPT: "Receipt", INVOICE: "Invoice", CREDIT_NOTE: "Credit note"}
#: The bill's categories, in the order the seed's bill lists them.
CATEGORIES = (
    ("instance", "Instances"),
    ("bandwidth", "Bandwidth"),
    ("cdn", "CDN"),
    ("floating_ip", "Floating IPs"),
    ("load_balancer", "Load balancers"),
    ("object_storage", "Storage"),
    ("volume", "Volumes"),
    ("volume_snapshot", "Volume snapshots"),
)


@dataclass(frozen=True, slots=True)
class Party:
    """A seller or a buyer as the document names them."""

    name: str
    address: str = ""
    tax_id: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    description: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Draft:
    """A document before it has a number: everything but the number and the id."""

    kind: str
    issuer: str
    account_id: str
    source_key: str  # one document per source: `payment:<id>`, `bill:<account>:<month>`, ...
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    currency: str
    tax_rate: Decimal
    issued_at: datetime
    reference: str = ""  # the payment, the month or the refund it is for
    # Worked out once: a document's HTML, PDF, row and mail each show them.
    total: Money = field(init=False, repr=False, compare=False)
    tax: Money = field(init=False, repr=False, compare=False)
    net: Money = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        total = sum((line.amount for line in self.lines), Money(Decimal(0), self.currency))
        tax = tax_included(total, self.tax_rate)
        object.__setattr__(self, "total", total)
        object.__setattr__(self, "tax", tax)
        object.__setattr__(self, "net", total - tax)


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    number: int
    draft: Draft

    @property
    def display_number(self) -> str:
        """`INV-RegionOne-000042`: the kind, the issuer and the gapless number."""
        return f"{PREFIX[self.draft.kind]}-{self.draft.issuer}-{self.number:06d}"

    @property
    def title(self) -> str:
        return TITLE[self.draft.kind]


def tax_included(total: Money, rate: Decimal) -> Money:
    """The tax inside a tax-included `total` at `rate` (0.06 is 6%), half-up to minor units."""
    if rate <= 0:
        return Money(Decimal(0), total.currency)
    exponent = Decimal(1).scaleb(-MINOR_UNITS[total.currency])
    tax = (total.amount * rate / (1 + rate)).quantize(exponent, rounding=ROUND_HALF_UP)
    return Money(tax, total.currency)


def bill_lines(categories: dict[str, Decimal], currency: str) -> tuple[Line, ...]:
    """A closed bill's lines by category, the empty ones left out."""
    return tuple(
        Line(label, Money(categories[item], currency))
        for item, label in CATEGORIES
        if categories.get(item)
    )
