"""`sws cdn`: the operator's view of distributions, purges, a signed link to a distribution's
object, and what the edges would run."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from sws.cdn import service
from sws.cdn.model import PURGE_KINDS, PurgeSpec
from sws.commands import common
from sws.errors import SWSError

app = typer.Typer(help="CDN distributions and their edges.", no_args_is_help=True)


@app.command("list")
def list_all() -> None:
    """Every distribution of every tenant (an operator's view), one line each: id, project,
    origin, state and host names, whole whatever the terminal's width (for grep and awk)."""
    container = common.container()
    rows = service.list_distributions(db=container.db, project_id=None)
    typer.echo("id project origin state hosts")
    for row in rows:
        if row.disabled_reason is not None or row.origin_missing:
            state = f"disabled:{row.disabled_reason or 'origin_deleted'}"
        else:
            state = "enabled" if row.settings.enabled else "disabled"
        hosts = " ".join(host for host, _ in row.hosts)
        typer.echo(f"{row.id} {row.project_id} {row.origin_kind}:{row.origin_ref} {state} {hosts}")


@app.command("purge")
def purge(
    distribution: Annotated[str, typer.Argument(help="the distribution's id")],
    kind: Annotated[str, typer.Option(help=f"one of {', '.join(PURGE_KINDS)}")] = "url",
    value: Annotated[str, typer.Option(help="the path, prefix or key (none for all)")] = "",
    mode: Annotated[str, typer.Option(help="soft (mark stale) or hard (remove)")] = "soft",
    wait: Annotated[float, typer.Option(help="seconds to wait for every edge (0: none)")] = 0,
) -> None:
    """Purge a distribution's objects from every edge, as its tenant's own purge would: print
    the job's id and state (with --wait, once every edge has reported, or when time is up)."""
    container = common.container()
    try:
        view = service.operator_purge(
            db=container.db, clock=container.clock, config=container.cdn_config,
            limiter=container.purge_limiter,
            actor=service.Actor(user_id="operator", name="sws cdn purge", source="cli"),
            distribution_id=distribution, spec=PurgeSpec(kind, value, mode))
        deadline = time.monotonic() + wait
        while view.state != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
            view = service.get_any_purge(db=container.db, purge_id=view.row.id,
                                         distribution_id=distribution)
    except SWSError as refused:
        typer.echo(f"error: {refused.detail}", err=True)
        raise typer.Exit(code=2) from None
    edges = " ".join(f"{edge}={state}" for edge, state in sorted(view.row.edges.items()))
    typer.echo(f"{view.row.id} {view.state} {edges}")
    if wait and view.state != "done":
        raise typer.Exit(code=1)


@app.command("sign")
def sign(
    distribution: Annotated[str, typer.Argument(help="the distribution's id")],
    path: Annotated[str, typer.Argument(help="the object's URL path, /a/b.pdf")],
    seconds: Annotated[int, typer.Option(help="how long the link works")] = 3600,
) -> None:
    """Print a signed link to PATH that the edges serve for SECONDS, then answer 403."""
    container = common.container()
    try:
        link = service.sign(db=container.db, clock=container.clock, project_id=None,
                            distribution_id=distribution, path=path, seconds=seconds)
    except SWSError as refused:
        typer.echo(f"error: {refused.detail}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(link.url)


@app.command("render")
def render(
    edge: Annotated[str, typer.Option(help="the edge's name in SWS_CDN_EDGES")] = "edge-1",
    terminator: Annotated[bool, typer.Option(
        help="print the TLS terminator's HAProxy configuration instead of the VCL")] = False,
) -> None:
    """Print the VCL (or the terminator's configuration) an edge would load now."""
    container = common.container()
    state = service.edge_state(db=container.db, config=container.cdn_config, edge=edge)
    typer.echo(state.terminator if terminator else state.vcl, nl=False)
