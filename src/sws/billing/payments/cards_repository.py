"""SQL of saved cards: customers at providers, card setups, each tenant's saved card."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from sws.billing.payments.cards_model import CardDetails, CardSetup, SavedCard
from sws.billing.payments.cards_tables import (
    billing_card_setups,
    billing_payment_customers,
    billing_saved_cards,
)

C, S, K = billing_payment_customers.c, billing_card_setups.c, billing_saved_cards.c


def customer(conn: Connection, tenant_id: str, provider: str) -> str | None:
    query = select(C.customer_ref).where(C.account_id == tenant_id, C.provider == provider)
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def insert_customer(conn: Connection, tenant_id: str, provider: str, ref: str,
                    now: datetime) -> None:
    """Keep the customer; a concurrent start that stored one first keeps its own."""
    try:
        with conn.begin_nested():
            conn.execute(insert(billing_payment_customers), {
                "account_id": tenant_id, "provider": provider, "customer_ref": ref,
                "created_at": now})
    except IntegrityError:
        return


def _setup(row: RowMapping) -> CardSetup:
    return CardSetup(id=row["id"], tenant_id=row["account_id"], provider=row["provider"],
                     customer_ref=row["customer_ref"], session_ref=row["session_ref"],
                     redirect_url=row["redirect_url"], state=row["state"],
                     created_at=row["created_at"])


def insert_setup(conn: Connection, setup: CardSetup) -> None:
    conn.execute(insert(billing_card_setups), {
        "id": setup.id, "account_id": setup.tenant_id, "provider": setup.provider,
        "customer_ref": setup.customer_ref, "session_ref": setup.session_ref,
        "redirect_url": setup.redirect_url, "state": setup.state,
        "created_at": setup.created_at, "updated_at": setup.created_at})


def get_setup(conn: Connection, setup_id: str, *, lock: bool = False) -> CardSetup | None:
    query = select(billing_card_setups).where(S.id == setup_id)
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else _setup(row)


def set_setup(conn: Connection, setup_id: str, now: datetime, **values: str) -> None:
    """Record the provider's session and page, or the setup's new state."""
    conn.execute(update(billing_card_setups).where(S.id == setup_id)
                 .values(updated_at=now, **values))


def _card(row: RowMapping) -> SavedCard:
    details = CardDetails(method_ref=row["method_ref"], customer_ref=row["customer_ref"],
                          brand=row["brand"], last4=row["last4"], exp_month=row["exp_month"],
                          exp_year=row["exp_year"])
    return SavedCard(tenant_id=row["account_id"], provider=row["provider"],
                     setup_id=row["setup_id"], details=details, saved_at=row["saved_at"])


def card(conn: Connection, tenant_id: str) -> SavedCard | None:
    row = conn.execute(select(billing_saved_cards).where(K.account_id == tenant_id)
                       ).mappings().first()
    return None if row is None else _card(row)


def save_card(conn: Connection, saved: SavedCard) -> None:
    """The tenant's card, replacing any earlier one."""
    d = saved.details
    values = {"provider": saved.provider, "customer_ref": d.customer_ref,
              "method_ref": d.method_ref, "brand": d.brand, "last4": d.last4,
              "exp_month": d.exp_month, "exp_year": d.exp_year, "setup_id": saved.setup_id,
              "saved_at": saved.saved_at}
    done = conn.execute(update(billing_saved_cards)
                        .where(K.account_id == saved.tenant_id).values(**values))
    if not done.rowcount:
        conn.execute(insert(billing_saved_cards), {"account_id": saved.tenant_id, **values})


def delete_card(conn: Connection, tenant_id: str) -> bool:
    return bool(conn.execute(delete(billing_saved_cards)
                             .where(K.account_id == tenant_id)).rowcount)
