"""`sws community`: StackLab mode for the operator: leases, renewals, flags, a pass now."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sws.commands import common
from sws.community import service
from sws.community.model import Lease

app = typer.Typer(help="StackLab mode: free instances' leases and flags.", no_args_is_help=True)
console = Console()


def _table(leases: list[Lease], title: str) -> Table:
    table = Table(
        "instance",
        "tenant",
        "region",
        "name",
        "expires",
        "warned",
        "shelved",
        "idle since",
        "mining since",
        title=title,
    )
    for x in leases:
        table.add_row(
            x.server_id,
            x.project_id,
            x.region,
            x.name,
            x.expires_at.isoformat(),
            "yes" if x.warned_at else "",
            "yes" if x.shelved_at else "",
            x.idle_since.isoformat() if x.idle_since else "",
            x.mining_since.isoformat() if x.mining_since else "",
        )
    return table


@app.command("leases")
def leases(tenant_id: Annotated[str, typer.Argument(help="the tenant's id")]) -> None:
    """A tenant's free instances and when each lease ends."""
    container = common.container()
    console.print(_table(service.leases_of(db=container.db, project_id=tenant_id), "leases"))


@app.command("renew")
def renew(server_id: Annotated[str, typer.Argument(help="the instance's id")]) -> None:
    """Renew an instance's lease on its tenant's behalf (a shelved one is unshelved)."""
    container = common.container()
    runtime = container.community
    if runtime is None or not runtime.enabled:
        console.print(
            "[red]error:[/] no region is free: set SWS_MODE=community or SWS_COMMUNITY_REGIONS"
        )
        raise typer.Exit(2)
    lease = common.run(
        lambda: service.renew(
            db=container.db,
            clock=container.clock,
            drivers=container.drivers(),
            terms=runtime.terms,
            project_id=None,
            server_id=server_id,
        )
    )
    console.print(f"{lease.server_id} leased until {lease.expires_at.isoformat()}")


@app.command("flags")
def flags() -> None:
    """Free instances flagged idle or possibly mining (the heuristic acts on nothing)."""
    container = common.container()
    console.print(_table(service.flagged(db=container.db), "flags"))


@app.command("pass")
def run_pass() -> None:
    """Run one lease pass and the CPU checks now (the ticker runs them on its own)."""
    container = common.container()
    runtime = container.community
    if runtime is None or not runtime.enabled:
        console.print("nothing to do: no region is free")
        return
    report = runtime.tick()
    console.print(report)
