"""The books of a run, comparable across databases, and the clean single-node run to compare to.

Ids differ between two databases (tenants are made anew), so each row names its tenant and
any tenant id inside a key is replaced by the tenant's name. Times of writing are left out;
the period a charge is for stays in its key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from sws.billing import farmer
from sws.billing import service as billing
from sws.billing.tables import billing_accounts, billing_charges, billing_ledger
from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.events import service as events
from sws.identity import service as identity
from sws.identity.tables import tenants
from sws.money import Money
from tests.chaos.month import BusyStretch, notifications
from tests.servicedb import postgres_database

PRICES = Path(__file__).resolve().parents[2] / "src" / "sws" / "billing" / "prices.yaml"
Books = dict[str, list[tuple[str, ...]]]


@dataclass(frozen=True, slots=True)
class TopUp:
    tenant: str  # the tenant's name
    amount: str
    key: str  # the idempotency key


def books(engine: Engine, names: Iterable[str]) -> Books:
    """Ledger, charges and balances of the tenants called `names`."""
    wanted = sorted(names)
    owner, ledger, charges = tenants.c, billing_ledger.c, billing_charges.c
    with engine.connect() as conn:
        ids = dict(conn.execute(select(owner.id, owner.name).where(owner.name.in_(wanted))).all())
        rows = {
            "ledger": conn.execute(
                select(ledger.account_id, ledger.idempotency_key, ledger.kind, ledger.amount,
                       ledger.currency, ledger.coupon_id.is_not(None), ledger.memo)
                .where(ledger.account_id.in_(ids))
            ).all(),
            "charges": conn.execute(
                select(charges.account_id, charges.subscription_id, charges.period_start,
                       charges.period_end, charges.item_type, charges.quantity, charges.amount,
                       charges.bill_month)
                .where(charges.account_id.in_(ids))
            ).all(),
            "balances": conn.execute(
                select(billing_accounts.c.id, billing_accounts.c.balance)
                .where(billing_accounts.c.id.in_(ids))
            ).all(),
        }  # fmt: skip
    return {name: sorted(_named(row, ids) for row in found) for name, found in rows.items()}


def _named(row: Any, ids: Mapping[str, str]) -> tuple[str, ...]:
    values = [str(value) for value in row]
    for tenant_id, name in ids.items():
        values = [value.replace(tenant_id, f"<{name}>") for value in values]
    return tuple(values)


def single_node(stretch: BusyStretch, top_ups: list[TopUp], *, now: datetime) -> Books:
    """The same tenants, top-ups and notifications through one process on a fresh database, then
    one farmer pass at `now`: the clean run."""
    with postgres_database() as url:
        engine = make_engine(url)
        db, clock = Database(engine), SimulatedClock(now)
        billing.load_catalog_text(db=db, clock=clock, text=PRICES.read_text())
        ids = {name: identity.create_tenant(db=db, clock=clock, name=name, currency="CNY").id
               for name in stretch.tenants}  # fmt: skip
        for top_up in top_ups:
            billing.top_up(db=db, clock=clock, tenant_id=ids[top_up.tenant],
                           amount=Money.of(top_up.amount, "CNY"), idempotency_key=top_up.key)
        lines = [n.line for n in notifications(stretch, ids)]
        events.import_jsonl(db=db, lines=lines, clock=clock, region="RegionOne")
        farmer.farm_pass(db=db, clock=clock)
        result = books(engine, stretch.tenants)
        engine.dispose()
    return result
