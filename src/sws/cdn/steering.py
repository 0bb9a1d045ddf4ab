"""DNS by ISP for the CDN zone: `<id>.cdn.<zone>` answers with the edges of the client's view.

The same rules as the LB zone (`sws.dns.model`): the client's ISP view (EDNS Client Subnet, else
the resolver) picks the edges of that view; an edge that has not reported within
`SWS_CDN_EDGE_TIMEOUT_SECONDS` is left out of the answers, unless no edge reports at all. The
ISP views are the cloud's (`SWS_LB_ISP_VIEWS`). Only a distribution's automatic name is in the
zone; a tenant's custom domain is a CNAME to it.
"""

from __future__ import annotations

from datetime import timedelta

from sws.cdn import repository as repo
from sws.cdn.service import CDNConfig
from sws.clock import Clock
from sws.db.engine import Database
from sws.dns import remote
from sws.loadbalancer.model import Node


def edge_nodes(*, db: Database, clock: Clock, config: CDNConfig) -> list[Node]:
    """Every configured edge as a DNS node: alive when it reported within the timeout."""
    since = clock.now() - timedelta(seconds=config.edge_timeout_seconds)
    with db.read() as conn:
        rows = repo.edge_rows(conn)
    out = []
    for name, address, isp in config.edges:
        seen = rows[name]["last_seen_at"] if name in rows else None
        out.append(Node(name, address, isp, "up", seen is not None and seen >= since))
    return out


def distribution_exists(*, db: Database, host: str) -> bool:
    """Whether `host` is a distribution's automatic name."""
    with db.read() as conn:
        return repo.auto_host_exists(conn, host)


def zone_data(*, db: Database, clock: Clock, config: CDNConfig) -> remote.ZoneData:
    """The CDN zone for `sws dns serve`, next to the LB zone."""
    lb = config.lb

    def exists(name: str) -> bool:
        return distribution_exists(db=db, host=name)

    def nodes() -> list[Node]:
        return edge_nodes(db=db, clock=clock, config=config)

    return remote.ZoneData(zone=config.cdn_zone, exists=exists, nodes=nodes,
                           views=lb.isp_views, ttl=lb.dns_ttl, nameservers=lb.nameservers)
