"""Admin pages that read across tenants: overview, hypervisors, instances and the audit log
(dead letters: admin_dead_letters; regions: regions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from sws.agents import service as agents
from sws.audit import service as audit
from sws.deadletters import service as dead_letters
from sws.drivers.base import Server, ServerFilter
from sws.web.console import pages
from sws.web.console.charts import capacity_bars
from sws.web.console.context import Admin
from sws.web.console.render import page
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/admin", route_class=ConsoleRoute, include_in_schema=False)
Filter = Annotated[str, Query(max_length=64)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
LOG_PAGE = 50
ALL = 1000


@router.get("/")
def overview(s: Admin) -> Response:
    hosts = s.driver.list_hypervisors()
    return page(
        s, "admin/overview.html", hosts=hosts, tenants=len(pages.tenant_names(s)),
        servers=sum(h.running_vms for h in hosts),
        dead_letters=dead_letters.count(db=s.container.db),
        audit_entries=audit.count_entries(db=s.container.db),
        agents_attention=sum(a.needs_attention for a in agents.summaries(
            db=s.container.db, clock=s.container.clock, settings=s.container.settings,
            cdn_config=s.container.cdn_config,
            drivers=[s.driver, *s.container.drivers().values()])),
    )


@router.get("/hypervisors")
def hypervisors(s: Admin, name: Filter = "") -> Response:
    hosts = pages.matching(s.driver.list_hypervisors(), name, lambda h: h.hostname)
    placed: dict[str, list[Server]] = {}
    for server in s.driver.list_all_servers(ServerFilter(), ALL, None):
        placed.setdefault(server.host or "", []).append(server)
    return page(s, "admin/hypervisors.html", hosts=hosts, placed=placed, name=name,
                bars=capacity_bars, tenants=pages.tenant_names(s), labels=pages.STATUS_LABELS)


@router.get("/instances")
def instances(
    s: Admin, name: Filter = "", status: Filter = "", host: Filter = "", marker: Filter = ""
) -> Response:
    filters = ServerFilter(name=name or None, status=status or None, host=host or None)
    servers = s.driver.list_all_servers(filters, pages.PAGE_SIZE, marker or None)
    return page(
        s, "admin/instances.html", servers=servers, name=name, status=status, host=host,
        statuses=pages.FILTER_STATUSES, labels=pages.STATUS_LABELS, power=pages.POWER_LABELS,
        tenants=pages.tenant_names(s), next_marker=pages.next_marker(servers),
    )


@router.get("/audit")
def audit_log(s: Admin, action: Filter = "", actor: Filter = "", offset: Offset = 0) -> Response:
    db = s.container.db
    entries = audit.list_entries(db=db, limit=LOG_PAGE, offset=offset,
                                 action=action or None, actor=actor or None)
    total = audit.count_entries(db=db, action=action or None, actor=actor or None)
    return page(s, "admin/audit.html", entries=entries, total=total, action=action,
                actor=actor, offset=offset, page_size=LOG_PAGE)
