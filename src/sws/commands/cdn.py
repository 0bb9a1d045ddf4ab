"""`sws cdn`: sign a link to a distribution's object, and print what the edges would run."""

from __future__ import annotations

from typing import Annotated

import typer

from sws.cdn import service
from sws.commands import common
from sws.errors import SWSError

app = typer.Typer(help="CDN distributions and their edges.", no_args_is_help=True)


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
