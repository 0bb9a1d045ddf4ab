"""`sws dns`: the authoritative DNS by ISP for the LB zone (a PowerDNS remote backend)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from sws import bootstrap
from sws.cdn import steering
from sws.commands import common
from sws.dns import remote
from sws.loadbalancer import service
from sws.loadbalancer.model import Node

app = typer.Typer(help="DNS by ISP for the load-balancer zone (PowerDNS).", no_args_is_help=True)
console = Console()


def zone_data(container: bootstrap.Container) -> remote.ZoneData:
    """The zone as SWS's database sees it: LB names, node health, the ISP views."""
    config = container.lb_config
    db, clock = container.db, container.clock

    def exists(name: str) -> bool:
        return service.auto_host_exists(db=db, host=name)

    def nodes() -> list[Node]:
        return service.nodes(db=db, clock=clock, config=config)

    return remote.ZoneData(
        zone=config.zone, exists=exists, nodes=nodes, views=config.isp_views,
        ttl=config.dns_ttl, nameservers=config.nameservers,
    )


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="listen port")] = 8053,
) -> None:
    """Run the remote backend that PowerDNS asks (`remote-connection-string=http:...`)."""
    container = common.container()
    cdn_config = container.cdn_config
    cdn_zone = steering.zone_data(db=container.db, clock=container.clock, config=cdn_config)
    server = remote.make_server(zone_data(container), host, port, also=[cdn_zone])
    console.print(f"PowerDNS remote backend for {container.settings.lb_zone} and "
                  f"{cdn_config.cdn_zone} on http://{host}:{port}/dns")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


@app.command("pdns-config")
def pdns_config(
    backend_url: Annotated[str, typer.Option(help="where `sws dns serve` listens")] = (
        "http://127.0.0.1:8053/dns"
    ),
    address: Annotated[str, typer.Option(help="the address PowerDNS answers on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="the port PowerDNS answers on")] = 53,
    socket_dir: Annotated[str, typer.Option(help="PowerDNS's control socket directory")] = (
        "/run/pdns"
    ),
) -> None:
    """Print a pdns.conf that serves the LB zone from `sws dns serve`."""
    text = remote.pdns_config(backend_url=backend_url, address=address, port=port,
                              socket_dir=socket_dir)
    typer.echo(text, nl=False)


@app.command("nodes")
def nodes() -> None:
    """The LB nodes, their ISP, admin state and whether they reported recently."""
    container = common.container()
    config = container.lb_config
    for node in service.nodes(db=container.db, clock=container.clock, config=config):
        alive = "alive" if node.alive else "silent"
        console.print(f"{node.name}\t{node.address}\t{node.isp}\t{node.admin_state}\t{alive}")


@app.command("node-state")
def node_state(
    node: str, state: Annotated[str, typer.Argument(help="up, down or maint")]
) -> None:
    """Take an LB node out of (down, maint) or back into (up) the DNS answers."""
    container = common.container()
    config = container.lb_config
    service.set_node_state(db=container.db, config=config, node=node, state=state)
    console.print(f"{node} is {state}")
