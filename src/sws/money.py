"""Money: a Decimal amount with an ISO-4217 currency; floats are refused everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sws.errors import Invalid

# Minor units per ISO 4217 for the currencies SWS accepts.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "CHF": 2, "HKD": 2, "SGD": 2,
    "AUD": 2, "CAD": 2, "KRW": 0, "INR": 2, "BRL": 2, "SEK": 2, "NOK": 2, "DKK": 2,
}


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
        check_currency(self.currency)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        if isinstance(amount, float):
            raise TypeError("a float is never money; pass a str or Decimal")
        return cls(Decimal(amount), currency)

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
