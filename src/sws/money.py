"""Money: a Decimal amount with an ISO-4217 currency; floats are refused everywhere."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sws.errors import Invalid

# Minor units per ISO 4217 for the currencies SWS accepts.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "CHF": 2, "HKD": 2, "SGD": 2,
    "AUD": 2, "CAD": 2, "KRW": 0, "INR": 2, "BRL": 2, "SEK": 2, "NOK": 2, "DKK": 2,
}


# The one written form of an amount every adapter takes: ASCII digits, an optional sign and
# fraction; no spaces, exponents, separators or non-ASCII digits (which Decimal would read).
AMOUNT_PATTERN = re.compile(r"-?[0-9]+(\.[0-9]+)?")
MAX_AMOUNT_DIGITS = 40


def parse_amount(text: str | int, *, field: str = "amount") -> Decimal:
    """The Decimal `text` spells, or Invalid naming `field`; an int is taken as whole units."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise Invalid('send an amount as a decimal string, e.g. "10.50"', field=field)
    if isinstance(text, int):
        return Decimal(text)
    if len(text) > MAX_AMOUNT_DIGITS or not AMOUNT_PATTERN.fullmatch(text):
        raise Invalid(
            f'{field} must be written like "10.50": ASCII digits, an optional "-" and '
            f"fraction, at most {MAX_AMOUNT_DIGITS} characters",
            field=field,
        )
    return Decimal(text)


def check_currency(code: str) -> str:
    """Return `code` if SWS knows it, else raise Invalid naming the field."""
    if code not in MINOR_UNITS:
        raise Invalid(f"unknown currency {code!r}", field="currency")
    return code


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money needs a Decimal amount, got {type(self.amount).__name__}")
        if not self.amount.is_finite():
            raise Invalid(f"an amount must be a finite number, not {self.amount}", field="amount")
        check_currency(self.currency)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Money from a Decimal, an int, or a string in the one written form (`parse_amount`)."""
        if isinstance(amount, float):
            raise TypeError("a float is never money; pass a str or Decimal")
        if isinstance(amount, Decimal):
            return cls(amount, currency)
        return cls(parse_amount(amount), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise Invalid(f"cannot mix {self.currency} and {other.currency}", field="currency")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def times(self, quantity: Decimal | int) -> Money:
        if isinstance(quantity, float):
            raise TypeError("a float is never a quantity of money")
        return Money(self.amount * quantity, self.currency)

    def rounded(self) -> Money:
        """Round half-up to the currency's minor unit, as a bill line is."""
        exponent = Decimal(1).scaleb(-MINOR_UNITS[self.currency])
        return Money(self.amount.quantize(exponent, rounding=ROUND_HALF_UP), self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
