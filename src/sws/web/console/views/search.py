"""Global search from the header: `/console/search?q=` over the tenant's resources in the
region shown. The matching rule is `sws.search`; this module links each hit to its page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from sws.errors import NotFound
from sws.search import model
from sws.search import service as search_service
from sws.search.model import Hit
from sws.web.console.context import Session, Tenant
from sws.web.console.i18n import N_
from sws.web.console.render import page
from sws.web.console.routing import ConsoleRoute
from sws.web.console.views.volumes import storage_of

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
KIND_LABELS = {
    "instance": N_("Instances"), "floating_ip": N_("Floating IPs"), "volume": N_("Volumes"),
    "container": N_("Containers"), "load_balancer": N_("Load Balancers"),
}
LINKS = {
    "instance": "/console/instances/{id}", "floating_ip": "/console/floating-ips?address={name}",
    "volume": "/console/volumes#volume-{id}", "container": "/console/containers/{id}",
    "load_balancer": "/console/loadbalancers/{id}",
}


def link(hit: Hit) -> str:
    return LINKS[hit.kind].format(id=quote(hit.id, safe=""), name=quote(hit.name, safe=""))


def _region(s: Session) -> search_service.Region:
    c = s.container
    try:
        objects = c.object_store(s.region)
    except NotFound:
        objects = None
    return search_service.Region(
        name=s.region, driver=s.driver, volumes=storage_of(s), objects=objects, db=c.db,
        clock=c.clock, lb_config=c.lb_config,
    )


@router.get("/console/search")
def search(s: Tenant, q: Annotated[str, Query(max_length=model.MAX_LENGTH)] = "") -> Response:
    searched = model.needle(q) is not None
    found = search_service.search(region=_region(s), tenant_id=s.tenant_id, query=q) \
        if searched else []
    return page(s, "search.html", q=q, searched=searched, found=found, labels=KIND_LABELS,
                link=link, min_length=model.MIN_LENGTH)
