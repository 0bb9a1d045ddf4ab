"""LB node agents as the operator watches them: alive, stale or behind the current version.

`sws-agent lb` reports every half second (`POST /v1/admin/lb-nodes/{node}/report`), with the
configuration version its HAProxy runs. A node is **stale** when no report came within
`SWS_LB_NODE_TIMEOUT_SECONDS`, the same timeout after which DNS stops answering with the
node's address, so the console and DNS never disagree about a node. It is **behind** when the
version it applied is not the current one. The rule itself is `sws.agents.model`'s, shared by
every kind of agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sws.agents.model import AgentStatus, Freshness, agent_status
from sws.clock import Clock
from sws.db.engine import Database
from sws.loadbalancer import repository as repo
from sws.loadbalancer.service import LBConfig


@dataclass(frozen=True, slots=True)
class NodeAgent:
    """One configured LB node and its agent's last report, judged now."""

    name: str
    address: str
    isp: str
    admin_state: str
    last_seen_at: datetime | None
    applied_version: int | None
    expected_version: int
    status: AgentStatus


def freshness(config: LBConfig) -> Freshness:
    """The node timeout is the whole window (one interval of it)."""
    return Freshness(interval=timedelta(seconds=config.node_timeout_seconds), intervals=1)


def node_agents(*, db: Database, clock: Clock, config: LBConfig) -> list[NodeAgent]:
    """Every configured node, in configuration order, with its agent's status."""
    with db.read() as conn:
        rows, version = repo.node_rows(conn), repo.version(conn)
    now, window = clock.now(), freshness(config)
    out = []
    for name, address, isp in config.nodes:
        row = rows.get(name) or {}
        seen, applied = row.get("last_seen_at"), row.get("applied_version")
        status = agent_status(reported_at=seen, applied=applied, expected=version, now=now,
                              freshness=window)
        out.append(NodeAgent(name, address, isp, row.get("admin_state", "up"), seen, applied,
                             version, status))
    return out
