"""Unrated usage: billable time and metered usage no price covered, kept until rated or waived.

The farmer keeps each piece (at most one clock hour of one resource) in `billing_unrated`
instead of letting it go free. Loading a price that covers a piece (a catalog whose
`valid_from` reaches back) makes the farmer rate it on its next pass; the operator may instead
waive pieces, with a reason, and each waiver is audited on the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import RowMapping

from sws.billing import repository as repo
from sws.billing.service import audit_row
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Invalid


@dataclass(frozen=True, slots=True)
class UnratedLine:
    """Open unrated usage of one account, item, item type, region and unit."""

    account_id: str
    item: str
    item_type: str
    region: str
    unit: str  # "hour" for instances, floating IPs and LBs; the item type for metered usage
    quantity: Decimal
    resources: int
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Waiver:
    """What the operator waives: one tenant's or everyone's, one item or all, and why."""

    reason: str
    actor: str
    tenant_id: str | None = None
    item: str | None = None


def summary(*, db: Database, tenant_id: str | None = None) -> list[UnratedLine]:
    """Open unrated usage, per account, item, item type, region and unit."""
    with db.read() as conn:
        return [_line(row) for row in repo.unrated_groups(conn, account_id=tenant_id)]


def _line(row: RowMapping) -> UnratedLine:
    return UnratedLine(
        row["account_id"], row["item"], row["item_type"], row["region"], row["unit"],
        quantity=Decimal(row["quantity"]), resources=int(row["resources"]),
        start=row["start"], end=row["end"],
    )


def waive(*, db: Database, clock: Clock, waiver: Waiver) -> list[UnratedLine]:
    """Waive open unrated usage: it is never charged. Returns what was waived; audited."""
    reason = waiver.reason.strip()
    if not reason:
        raise Invalid("say why the usage is waived", field="reason")
    now = clock.now()
    note = f"waived by {waiver.actor}: {reason}"
    with db.begin() as conn:
        waived = [_line(row) for row in repo.unrated_groups(
            conn, account_id=waiver.tenant_id, item=waiver.item)]
        repo.waive_unrated(conn, account_id=waiver.tenant_id, item=waiver.item, now=now,
                           note=note)
        repo.audit(conn, [audit_row(line.account_id, now, "unrated_waived",
                                    f"{describe(line)}; {note}") for line in waived])
    return waived


def describe(line: UnratedLine) -> str:
    amount = f"{line.quantity.normalize():f} {line.unit}"
    return (f"{line.item} {line.item_type} in {line.region}: {amount} "
            f"from {line.start.isoformat()} to {line.end.isoformat()}")


def readiness(*, db: Database) -> list[str]:
    """What an operator must know before trusting the bills: an empty catalog, unrated usage."""
    warnings = []
    with db.read() as conn:
        empty = repo.product_count(conn) == 0
        pieces = repo.count_unrated(conn)
    if empty:
        warnings.append(
            "billing has an empty price catalog: nothing is charged and all usage is kept as "
            "unrated; load one with `sws catalog load prices.yaml`"
        )
    if pieces:
        warnings.append(
            f"{pieces} piece(s) of unrated usage: see `sws billing unrated`; load a price that "
            "covers them or waive them"
        )
    return warnings
