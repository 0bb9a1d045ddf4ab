"""The hourly charge SWS ran before issue 17 §2, kept as the oracle of the set-based one.

Accounts claimed with `IN (SELECT DISTINCT account_id ... due)` from the first account every
batch, and the subscriptions' cursors written one UPDATE per row (an executemany), exactly as
`farmer.charge_due` and `repository.update_subscriptions` did. The per-subscription rating
(`farmer._charge_one`) is shared: the oracle checks the claim and the writes around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, select

from sws.billing import farmer, service
from sws.billing import repository as repo
from sws.billing.ledger import Books
from sws.billing.model import Catalog
from sws.billing.tables import billing_accounts, billing_subscriptions
from sws.clock import Clock
from sws.db.engine import Database


def charge_due(*, db: Database, clock: Clock, catalog: Catalog, batch: int) -> int:
    """Charge every subscription due by now, the slow way; returns how many charges."""
    now, charges = clock.now(), 0
    while True:
        with db.begin() as conn:
            rows = _claim_due(conn, now=now, limit=batch)
            if not rows:
                return charges
            charges += _charge_batch(conn, rows, farmer._fresh(conn, catalog), now)


def _claim_due(conn: Connection, *, now: datetime, limit: int) -> list[RowMapping]:
    subs = billing_subscriptions.c
    due = select(subs.account_id).where(subs.due_at <= now).distinct()
    claim = (
        select(billing_accounts.c.id)
        .where(billing_accounts.c.id.in_(due))
        .order_by(billing_accounts.c.id)
        .limit(limit)
    )
    ids = list(conn.execute(repo._locking(claim, conn, skip_locked=True)).scalars())
    if not ids:
        return []
    query = (
        select(billing_subscriptions)
        .where(subs.account_id.in_(ids), subs.due_at <= now)
        .order_by(subs.account_id, subs.due_at, subs.id)
    )
    return list(conn.execute(repo._locking(query, conn, skip_locked=True)).mappings())


def _charge_batch(
    conn: Connection, rows: Sequence[RowMapping], catalog: Catalog, now: datetime
) -> int:
    ids = [row["account_id"] for row in rows]
    accounts = repo.accounts(conn, ids, lock=True)
    books, out = Books(repo.coupons_of(conn, ids), now=now), farmer._Batch()
    for piece in repo.open_unrated(conn, [row["id"] for row in rows]):
        out.pending.setdefault(piece["subscription_id"], []).append(piece)
    for row in rows:
        farmer._charge_one(conn, row, accounts[row["account_id"]], catalog, books, out, now)
    repo.insert_charges(conn, out.charges)
    repo.insert_adjustments(conn, out.adjustments)
    service.write_books(conn, books)
    repo.update_subscriptions_each(conn, out.updates)
    repo.insert_unrated(conn, out.unrated)
    for note, rated in out.rated.items():
        repo.resolve_unrated(conn, rated, status=repo.RATED, now=now, note=note)
    return len(out.charges)
