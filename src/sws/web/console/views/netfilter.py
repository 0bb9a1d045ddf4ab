"""The tenant's SWS filter page: what their VMs may reach inside the operator's network
(read-only) and their Cloud Bridge grants (toggles on their own instances).

`sws.netfilter.service` checks ownership (another tenant's instance is "not found") and
writes every change with its audit entry; this module adds no rule of its own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response

from sws.errors import SWSError
from sws.netfilter import service as nf
from sws.web.console import pages
from sws.web.console.context import Session, Tenant, TenantPost
from sws.web.console.render import page, redirect
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
BACK = "/console/reachable"


def actor(s: Session) -> nf.Actor:
    """Who changes the filter, for the audit rows the service writes."""
    return nf.Actor(user_id=s.principal.user_id, name=s.principal.user_name, source="console")


def directory(s: Session) -> nf.CloudDirectory:
    return nf.CloudDirectory(db=s.container.db, driver=s.driver)


@router.get("/reachable")
def reachable(s: Tenant) -> Response:
    views = nf.reachable(db=s.container.db, clock=s.container.clock, tenant_id=s.tenant_id)
    servers = pages.live_briefs(s)
    grants = nf.list_grants(db=s.container.db, tenant_id=s.tenant_id)
    return page(s, "netfilter/reachable.html", rules=[v.rule for v in views], servers=servers,
                names=pages.names_by_id(servers), grants=grants)


@router.post("/reachable/bridge-grants")
def toggle_grant(
    s: TenantPost, server_id: Text = "", port: Text = "", enabled: Text = "true"
) -> Response:
    on = enabled == "true"
    try:
        number = pages.whole_number(port, field="port", low=1, high=65535)
        nf.set_grant(db=s.container.db, clock=s.container.clock, directory=directory(s),
                     actor=actor(s), tenant_id=s.tenant_id, instance_id=server_id,
                     port=number, enabled=on)
    except SWSError as error:
        return redirect(s, BACK, [("error", error.detail)])
    done = (s.gettext("Cloud Bridge may now reach port %(port)d.", port=number) if on
            else s.gettext("Cloud Bridge access to port %(port)d removed.", port=number))
    return redirect(s, BACK, [("ok", done)])
