"""The one SQLAlchemy MetaData every domain's tables join, and the column types SWS relies on."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, Numeric, TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """`timestamp with time zone` on PostgreSQL; UTC by convention on SQLite and MariaDB.

    Values going in must be timezone-aware; values coming out are always aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects.mysql import DATETIME

            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: SWS stores timezone-aware UTC")
        value = value.astimezone(UTC)
        if dialect.name in ("sqlite", "mysql"):
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


MONEY_PLACES = 6
MICRO = Decimal(1).scaleb(-MONEY_PLACES)  # 0.000001


class _Micros(Numeric[Any]):
    """NUMERIC(24, 6) in SQLite's DDL, bound and read as the integers `ExactMoney` hands it:
    SQLAlchemy's own Numeric would turn them into floats on the way in."""

    def bind_processor(self, dialect: Dialect) -> None:
        return None

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        return None


class ExactMoney(TypeDecorator[Decimal]):
    """Prices and amounts, exact to 6 decimal places on every backend, read back as Decimal.

    NUMERIC(24, 6) on PostgreSQL and MariaDB. SQLite has no exact decimal (a NUMERIC column
    keeps 0.1 as a double), so there the column holds an integer count of micro-units
    (10.50 is 10500000): SUM, +, - and comparisons in SQL stay exact integer arithmetic, up to
    about 9.2 million million currency units. Values round half-up to 6 places, as PostgreSQL's
    NUMERIC(24, 6) rounds them.
    """

    impl = Numeric(24, MONEY_PLACES, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_Micros(24, MONEY_PLACES))
        return dialect.type_descriptor(Numeric(24, MONEY_PLACES, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        if isinstance(value, float):
            raise TypeError("a float is never money; bind a Decimal")
        exact = Decimal(value).quantize(MICRO, rounding=ROUND_HALF_UP)
        return int(exact.scaleb(MONEY_PLACES))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name != "sqlite":
            return Decimal(value)
        return Decimal(int(value)).scaleb(-MONEY_PLACES).quantize(MICRO)


def money_column_type() -> ExactMoney:
    """Prices and amounts: exact with 6 decimal places everywhere (see `ExactMoney`)."""
    return ExactMoney()
