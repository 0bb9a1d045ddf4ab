"""`sws billing` (settle, bill, close-month, check, unrated, waive, enforce, next-suspensions)
and `sws catalog load`."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sws import bootstrap
from sws.billing import farmer, standing, unrated
from sws.billing import service as billing
from sws.billing.model import CATEGORIES, ENFORCE, OBSERVE, Bill
from sws.clock import SimulatedClock
from sws.commands import common
from sws.errors import Invalid
from sws.identity import service as identity

app = typer.Typer(
    help="Billing: charge, bills, month close, ledger check, unrated usage, enforcement.",
    no_args_is_help=True,
)
catalog_app = typer.Typer(help="The price catalog.", no_args_is_help=True)
console = Console()
log = logging.getLogger("sws.billing")


@app.command("settle")
def settle(
    until: Annotated[
        str, typer.Option(help="Charge everything due by then (ISO-8601, with zone; not later "
                          "than now).")
    ],
    batch: Annotated[
        int, typer.Option(min=1, max=10000, help="Accounts per transaction.")
    ] = 50,
) -> None:
    """Run the farmer once, with the clock at --until: every period due by then is charged.

    --until may not be later than now: a period that has not happened yet is never charged
    (the server may still be deleted first). Charges are dated at their periods. Metered usage
    (bandwidth, object storage) is rated too, up to the clock hour that ended an hour before
    --until, as `sws up` rates it.
    """
    not_a_time = f"{until!r} is not an ISO-8601 time with a zone"
    at = common.run(lambda: common.moment(until, field="until", detail=lambda _: not_a_time))
    container = common.container()
    common.run(lambda: _not_future(at, container.clock.now()))
    sources = container.billing.sources if container.billing else []  # what `sws up` rates
    report = farmer.farm_pass(
        db=container.db, clock=SimulatedClock(at), drivers=container.drivers(),
        sources=sources, batch=batch, close_months=False,
    )
    console.print(
        f"synced {report.synced}, charges {report.charges}, "
        f"adjustments {report.adjustments}, usage {report.usage}, "
        f"accounts {len(report.accounts)}, unrated {report.unrated}"
    )
    warn_billing(container)


def _not_future(at: datetime, now: datetime) -> None:
    if at > now:
        raise Invalid(
            f"--until {at.isoformat()} is later than now ({now.isoformat()}): settling charges "
            "only periods that have happened; a server may still be deleted before then",
            field="until",
        )


def warn_billing(container: bootstrap.Container, *, to_log: bool = False) -> list[str]:
    """Say loudly what makes bills wrong or empty: no catalog, unrated usage. Returns it.

    On the terminal, or in the log for the workers, whose output is their log."""
    warnings = unrated.readiness(db=container.db)
    for warning in warnings:
        if to_log:
            log.warning("%s", warning)
        else:
            console.print(f"[bold red]WARNING (billing):[/] {warning}")
    return warnings


def _tenant_id(container: bootstrap.Container, name_or_id: str) -> str:
    for tenant in identity.list_tenants(db=container.db, limit=1000, marker=None):
        if name_or_id in (tenant.id, tenant.name):
            return tenant.id
    return name_or_id


def bill_json(bill: Bill) -> dict[str, object]:
    lines = [
        {
            "kind": x.kind,
            "type": x.type,
            "resource_name": x.resource_name,
            "resource_id": x.resource_id,
            "item_type": x.item_type,
            "price": str(x.unit_price),
            "unit": x.unit,
            "start": x.start.isoformat(),
            "end": x.end.isoformat(),
            "quantity": str(x.quantity),
            "total": str(x.total),
        }
        for x in bill.lines
    ]
    totals = {item: str(bill.category(item)) for item in CATEGORIES}
    return {
        "tenant_id": bill.account_id,
        "month": bill.month,
        "currency": bill.currency,
        "closed": bill.closed,
        "total": str(bill.total),
        **totals,
        "lines": lines,
    }


@app.command("bill")
def bill(
    tenant: Annotated[str, typer.Argument(help="Tenant name or id.")],
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print a tenant's bill for a month (lines, category totals, total)."""
    container = common.container()
    found = common.run(
        lambda: billing.get_bill(
            db=container.db, tenant_id=_tenant_id(container, tenant), month=month
        )
    )
    if as_json:
        print(json.dumps(bill_json(found), indent=2))
        return
    table = Table(
        "type",
        "name",
        "price",
        "start",
        "end",
        "quantity",
        "total",
        title=f"{found.month} {found.currency}: {found.total}",
    )
    for x in found.lines:
        table.add_row(
            x.type if x.kind == "charge" else f"{x.type} (adj.)",
            x.resource_name,
            f"{x.unit_price.normalize()}/{x.unit}",
            x.start.isoformat(),
            x.end.isoformat(),
            str(x.quantity.normalize()),
            str(x.total),
        )
    console.print(table)


@app.command("close-month")
def close_month(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (name or id).")] = None,
) -> None:
    """Freeze a month's bills: their lines never change; late charges go to the next month."""
    container = common.container()
    tenant_id = _tenant_id(container, tenant) if tenant else None
    closed = common.run(
        lambda: billing.close_month(
            db=container.db, clock=container.clock, month=month, tenant_id=tenant_id
        )
    )
    console.print(f"closed {month} for {len(closed)} account(s)")


@app.command("check")
def check() -> None:
    """Verify every balance equals the sum of its journal and no period was charged twice;
    show the usage no price covered yet (unrated)."""
    container = common.container()
    report = billing.check(db=container.db)
    for line in report.mismatches:
        console.print(f"[red]mismatch:[/] {line}")
    console.print(
        f"{report.accounts} accounts, {report.entries} journal entries, "
        f"{len(report.mismatches)} mismatches, {report.duplicate_charges} double charges"
    )
    _print_unrated(unrated.summary(db=container.db))
    warn_billing(container)
    if not report.ok:
        raise typer.Exit(code=1)


def _print_unrated(lines: list[unrated.UnratedLine]) -> None:
    if not lines:
        console.print("no unrated usage")
        return
    table = Table("tenant", "item", "item type", "region", "quantity", "unit", "resources",
                  "from", "to", title="Unrated usage: no price covered it (not charged yet)")
    for x in lines:
        table.add_row(x.account_id, x.item, x.item_type, x.region, f"{x.quantity.normalize():f}",
                      x.unit, str(x.resources), x.start.isoformat(), x.end.isoformat())
    console.print(table)


@app.command("unrated")
def unrated_usage(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (name or id).")] = None,
) -> None:
    """List usage that no price covered: load a price that reaches back over it, or waive it."""
    container = common.container()
    tenant_id = _tenant_id(container, tenant) if tenant else None
    _print_unrated(unrated.summary(db=container.db, tenant_id=tenant_id))


@app.command("waive")
def waive(
    reason: Annotated[str, typer.Option(help="Why it is not charged (kept in the audit).")],
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (name or id).")] = None,
    all_tenants: Annotated[bool, typer.Option("--all", help="Every tenant's.")] = False,
    item: Annotated[str | None, typer.Option(help="Only this item, e.g. instance.")] = None,
) -> None:
    """Waive open unrated usage: it is never charged, even if a price for it comes later."""
    if (tenant is None) == (not all_tenants):
        raise typer.BadParameter("give --tenant NAME or --all", param_hint="--tenant")
    container = common.container()
    waiver = unrated.Waiver(
        reason=reason, actor="cli", tenant_id=_tenant_id(container, tenant) if tenant else None,
        item=item,
    )
    waived = common.run(lambda: unrated.waive(db=container.db, clock=container.clock,
                                              waiver=waiver))
    for line in waived:
        console.print(f"waived {line.account_id}: {unrated.describe(line)}")
    console.print(f"waived {len(waived)} group(s) of unrated usage")


@app.command("enforce")
def enforce(
    tenant: Annotated[str | None, typer.Argument(help="Tenant name or id.")] = None,
    all_tenants: Annotated[bool, typer.Option("--all", help="Every existing account.")] = False,
    off: Annotated[bool, typer.Option("--off", help="Observe only: never suspend.")] = False,
) -> None:
    """Turn enforcement on (suspend after the grace period) or off for an account or all.

    Accounts created later follow SWS_BILLING_ENFORCEMENT (observe-only on real OpenStack).
    """
    if (tenant is None) == (not all_tenants):
        raise typer.BadParameter("give a tenant or --all", param_hint="tenant")
    container = common.container()
    mode = OBSERVE if off else ENFORCE
    changed = common.run(lambda: standing.set_enforcement(
        db=container.db, clock=container.clock, drivers=container.drivers(),
        tenant_id=_tenant_id(container, tenant) if tenant else None, enforcement=mode,
        actor="cli",
    ))
    console.print(f"enforcement {mode} for {len(changed)} account(s)")


@app.command("next-suspensions")
def next_suspensions() -> None:
    """The dry run: accounts that would be suspended next, and when. Changes nothing."""
    container = common.container()
    table = Table("tenant", "status", "available", "grace until", "enforcement", "stops servers",
                  title="Accounts that would be suspended next")
    for x in standing.next_suspensions(db=container.db, clock=container.clock):
        table.add_row(x.account_id, x.status, str(x.available),
                      x.at.isoformat() if x.at else "", x.enforcement,
                      "yes" if x.stops_servers else "no (observe-only)")
    console.print(table)


@catalog_app.command("load")
def catalog_load(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Load a price catalog (YAML); loading the same file again changes nothing."""
    container = common.container()
    added, total = common.run(
        lambda: billing.load_catalog_text(
            db=container.db, clock=container.clock, text=path.read_text()
        )
    )
    console.print(f"{added} new price(s), {total} in the file")
