"""Every node agent of a region in one list: what the admin overview counts in red and what
`/metrics` exports. Each kind judges its agents with `sws.agents.model.agent_status`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sws.agents.model import AgentStatus
from sws.cdn import service as cdn
from sws.clock import Clock
from sws.config import Settings
from sws.db.engine import Database
from sws.drivers.base import CloudDriver
from sws.loadbalancer import agents as lb_agents
from sws.loadbalancer.service import LBConfig
from sws.netfilter import service as nf


@dataclass(frozen=True, slots=True)
class AgentSummary:
    """One agent: its kind (`netfilter`, `lb`), the host or node it reports for, and whether
    SWS knows that host, has heard from it lately, and expects what it applied."""

    kind: str
    name: str
    known: bool
    status: AgentStatus
    in_sync: bool = True  # its own read-back matched what it applied

    @property
    def needs_attention(self) -> bool:
        return not (self.known and self.status.healthy and self.in_sync)


def summaries(
    *, db: Database, clock: Clock, settings: Settings, cdn_config: cdn.CDNConfig,
    drivers: Sequence[CloudDriver],
) -> list[AgentSummary]:
    """Netfilter agents that ever reported (each judged in the first of `drivers`' regions
    that knows its host), then every configured LB node and CDN edge (one that never reported
    is stale: DNS has no live node there)."""
    directories = [nf.CloudDirectory(db=db, driver=driver) for driver in drivers]
    hosts = nf.host_statuses(db=db, clock=clock, window=nf.freshness(settings),
                             directories=directories)
    found = [
        AgentSummary("netfilter", str(h.report["host"]), h.known_host, h.status,
                     bool(h.report["in_sync"]))
        for h in hosts
    ]
    nodes = lb_agents.node_agents(db=db, clock=clock, config=LBConfig.from_settings(settings))
    edges = cdn.edges(db=db, clock=clock, config=cdn_config)
    return (found + [AgentSummary("lb", n.name, True, n.status) for n in nodes]
            + [AgentSummary("cdn", e.name, True, e.status) for e in edges])
