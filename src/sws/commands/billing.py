"""`sws billing` (settle, bill, close-month, check) and `sws catalog load`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sws import bootstrap
from sws.billing import farmer
from sws.billing import service as billing
from sws.billing.model import CATEGORIES, Bill
from sws.clock import SimulatedClock
from sws.commands import common
from sws.identity import service as identity

app = typer.Typer(help="Billing: charge, bills, month close, ledger check.", no_args_is_help=True)
catalog_app = typer.Typer(help="The price catalog.", no_args_is_help=True)
console = Console()


@app.command("settle")
def settle(
    until: Annotated[
        str, typer.Option(help="Charge everything due by then (ISO-8601, with zone).")
    ],
    batch: Annotated[
        int, typer.Option(min=1, max=10000, help="Accounts per transaction.")
    ] = 50,
) -> None:
    """Run the farmer once, with the clock at --until: every period due by then is charged."""
    not_a_time = f"{until!r} is not an ISO-8601 time with a zone"
    at = common.run(lambda: common.moment(until, field="until", detail=lambda _: not_a_time))
    clock = SimulatedClock(at)
    container = common.container(clock)
    report = farmer.farm_pass(
        db=container.db, clock=clock, drivers=container.drivers(), batch=batch, close_months=False
    )
    console.print(
        f"synced {report.synced}, charges {report.charges}, "
        f"adjustments {report.adjustments}, accounts {len(report.accounts)}"
    )


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
    """Verify every balance equals the sum of its journal and no period was charged twice."""
    container = common.container()
    report = billing.check(db=container.db)
    for line in report.mismatches:
        console.print(f"[red]mismatch:[/] {line}")
    console.print(
        f"{report.accounts} accounts, {report.entries} journal entries, "
        f"{len(report.mismatches)} mismatches, {report.duplicate_charges} double charges"
    )
    if not report.ok:
        raise typer.Exit(code=1)


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
