"""Money in the database is exact: on SQLite an integer of micro-units, never a REAL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, create_engine, func, select, text

from sws.billing import service as billing
from sws.billing.model import Product, make_product
from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.db.metadata import ExactMoney
from sws.db.migrate import upgrade
from sws.identity import service as identity
from sws.money import Money

LEDGER = MetaData()
entries = Table("entries", LEDGER, Column("id", Integer, primary_key=True),
                Column("amount", ExactMoney()))


def _sqlite(tmp_path: Path) -> Database:
    engine = create_engine(f"sqlite:///{tmp_path / 'money.db'}")
    LEDGER.create_all(engine)
    return Database(engine)


def test_a_million_plus_a_thousand_micro_payments_sums_exactly_in_sql(tmp_path: Path) -> None:
    """As doubles, each 0.000001 added to 1e9 rounds to 8 ulps: the sum would come out short."""
    db = _sqlite(tmp_path)
    amounts = [Decimal("1000000000")] + [Decimal("0.000001")] * 1000
    with db.begin() as conn:
        conn.execute(entries.insert(), [{"amount": a} for a in amounts])
    with db.read() as conn:
        total = conn.execute(select(func.sum(entries.c.amount))).scalar_one()
        kinds = set(conn.execute(text("SELECT DISTINCT typeof(amount) FROM entries")).scalars())
    assert total == Decimal("1000000000.001000") and str(total) == "1000000000.001000"
    assert kinds == {"integer"}


def test_amounts_read_back_with_six_places_and_round_half_up_like_numeric(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    written = ["0.1", "9999999999.999999", "-2.5", "0", "0.0000005", "-0.0000005"]
    with db.begin() as conn:
        conn.execute(entries.insert(), [{"amount": Decimal(a)} for a in written])
    with db.read() as conn:
        read = [str(a) for a in conn.execute(select(entries.c.amount).order_by(entries.c.id))
                .scalars()]
    assert read == ["0.100000", "9999999999.999999", "-2.500000", "0.000000", "0.000001",
                    "-0.000001"]


def test_prices_balances_and_ledger_amounts_are_integers_on_sqlite(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sws.db'}")
    upgrade(engine)
    db = Database(engine)
    tenant = identity.create_tenant(db=db, clock=clock, name="acme", currency="CNY")
    price: Product = make_product(region="*", item="instance", item_type="m1.tiny",
                                  payment_type="per_started_hour", price=Decimal("0.123456"),
                                  currency="CNY", valid_from=clock.now())
    billing.add_prices(db=db, clock=clock, products=[price])
    billing.top_up(db=db, clock=clock, tenant_id=tenant.id, amount=Money.of("10.10", "CNY"),
                   idempotency_key="first")
    with db.read() as conn:
        stored = conn.execute(text(
            "SELECT typeof(price), price FROM billing_products UNION ALL "
            "SELECT typeof(amount), amount FROM billing_ledger UNION ALL "
            "SELECT typeof(balance), balance FROM billing_accounts"
        )).all()
    assert [tuple(row) for row in stored] == [
        ("integer", 123456), ("integer", 10100000), ("integer", 10100000)
    ]
    account = billing.get_account(db=db, clock=clock, tenant_id=tenant.id)
    assert account.balance == Money.of("10.100000", "CNY")
    assert billing.list_prices(db=db, at=clock.now(), currency="CNY")[0].price.amount == Decimal(
        "0.123456"
    )


def test_the_migration_turns_stored_reals_into_micro_units(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "b2_billing_unrated")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO billing_products (id, region, item, item_type, payment_type, price, "
            "currency, valid_from, monthly_cap, created_at) VALUES ('p1', '*', 'instance', "
            "'m1.tiny', 'per_started_hour', 0.123456, 'CNY', '2026-01-01 00:00:00', NULL, "
            "'2026-01-01 00:00:00')"
        ))
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT typeof(price), price, monthly_cap FROM billing_products"
        )).one()
    assert tuple(row) == ("integer", 123456, None)
