"""`sws lb`: look at load balancers and render a node's HAProxy configuration offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sws.commands import common
from sws.loadbalancer import repository, service
from sws.loadbalancer.renderer import RenderOptions, render

app = typer.Typer(help="Load balancers on the shared IPs.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_all() -> None:
    """Every load balancer of every tenant (an operator's view)."""
    container = common.container()
    with container.db.read() as conn:
        rows = repository.list_lbs(conn)
    table = Table("id", "project", "type", "algorithm", "port", "hosts", "members")
    for row in rows:
        table.add_row(row.id, row.project_id, row.type, row.algorithm, str(row.port or ""),
                      " ".join(h for h, _ in row.hosts), str(len(row.members)))
    console.print(table)


@app.command("render")
def render_config(
    run_dir: Annotated[Path, typer.Option(help="the agent's run directory")] = Path(
        "/var/lib/sws-agent/lb"
    ),
    node: Annotated[str, typer.Option(help="the node's name in SWS_LB_NODES")] = "lb-1",
    bind: Annotated[
        list[str] | None, typer.Option(help="listen addresses (default: the node's address)")
    ] = None,
) -> None:
    """Print the HAProxy configuration a node would load for the current desired state, as
    `sws-agent lb` with the same --node and --bind renders it."""
    container = common.container()
    state = service.desired_state(db=container.db, config=container.lb_config)
    address = state.address_of(node)
    if not bind and address is None:
        console.print(f"[red]error:[/] SWS_LB_NODES names no node {node!r}; give --bind")
        raise typer.Exit(code=2)
    opts = RenderOptions(run_dir=run_dir, bind=tuple(bind or [str(address)]))
    typer.echo(render(state, opts).config, nl=False)
