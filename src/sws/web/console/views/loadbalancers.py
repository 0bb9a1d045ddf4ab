"""Tenant pages for load balancers: the list, one LB (endpoints, members and their health,
custom host names) and an instance's public domain, confirmed with its price.

Everything goes through `sws.loadbalancer.service`, which checks tenancy (another tenant's LB or
instance is "not found"), ports, host names and monitors; this module only turns forms into
its arguments and its answers into pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Response
from pydantic import BaseModel, Field

from sws.billing import service as billing
from sws.billing.model import LOAD_BALANCER, STANDARD
from sws.drivers.base import Server, ServerBrief
from sws.errors import Invalid, SWSError
from sws.loadbalancer import service
from sws.loadbalancer.model import LoadBalancerSpec, MemberSpec, Monitor
from sws.loadbalancer.service import MemberView
from sws.web.console import hooks, pages
from sws.web.console.context import Session, Tenant, TenantPost
from sws.web.console.i18n import N_
from sws.web.console.render import attempt, page, redirect
from sws.web.console.routing import ConsoleRoute
from sws.web.console.views.billing import UNITS

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
Line = Annotated[str, Field(max_length=255)]  # a field of a form model
LongText = Annotated[str, Field(max_length=5000)]
BACK = "/console/loadbalancers"
TYPES = {"http": N_("HTTP (L7, by host name)"), "tcp": N_("TCP (L4, by port)")}
ALGORITHMS = {"roundrobin": N_("Round robin"), "leastconn": N_("Least connections"),
              "source": N_("Source address")}
HEALTH = {"up": N_("up"), "down": N_("down"), "maint": N_("maint"), "unknown": N_("unknown")}
HEALTH_CLASS = {"up": "s-active", "down": "s-error", "maint": "s-shutoff", "unknown": ""}


@dataclass(frozen=True, slots=True)
class ShownHealth:
    """What the page says of a member: the nodes' verdict, else what the region knows."""

    key: str  # up, down, maint, unknown: the colour
    label: str  # a message id
    note: str = ""  # a message id, or ""


def shown_health(member: MemberView, servers: Mapping[str, ServerBrief]) -> ShownHealth:
    """The nodes' fresh reports decide; without any, the region still knows whether the
    member's instance runs: a deleted or stopped instance is down, a running one is not
    checked yet (no node has reported), rather than a bare "unknown"."""
    if member.health != "unknown" or member.nodes:
        return ShownHealth(member.health, HEALTH[member.health])
    server = servers.get(member.member.server_id)
    if server is None:
        return ShownHealth("down", HEALTH["down"], N_("its instance was deleted"))
    if server.status != "ACTIVE":
        return ShownHealth("down", HEALTH["down"], N_("its instance is not running"))
    return ShownHealth("unknown", N_("not checked"), N_("no load-balancer node has reported yet"))


def lb_price(s: Session) -> hooks.FlavorPrice | None:
    """What one load balancer (a public domain is one) costs now in the tenant's currency,
    from the catalog the farmer charges by; None when the catalog has no such price."""
    db = s.container.db
    currency = billing.account_currency(db=db, tenant_id=s.tenant_id)
    product = billing.load_catalog(db=db).find(s.region, LOAD_BALANCER, STANDARD, currency,
                                               s.container.clock.now())
    return hooks.FlavorPrice(product.price, product.unit) if product else None


def public_domains(s: Session, servers: Sequence[Server]) -> dict[str, str]:
    """The Instances list's public-domain column: one query for the whole page."""
    ids = [server.id for server in servers]
    return service.public_domains(db=s.container.db, project_id=s.tenant_id, server_ids=ids)


# ---- the list and creation ----------------------------------------------------------------


@router.get("/loadbalancers")
def loadbalancers(s: Tenant) -> Response:
    return _list_page(s, {}, None)


def _list_page(s: Session, values: dict[str, Any], error: SWSError | None) -> Response:
    config = s.container.lb_config
    views = service.list_loadbalancers(
        db=s.container.db, clock=s.container.clock, config=config, project_id=s.tenant_id
    )
    servers = pages.live_briefs(s)
    by_id = {srv.id: srv for srv in servers}
    return page(
        s, "loadbalancers/list.html", code=error.status if error else 200, lbs=views,
        servers=servers, names=pages.names_by_id(servers), types=TYPES,
        algorithms=ALGORITHMS, health=HEALTH, health_class=HEALTH_CLASS, values=values,
        error=error, zone=config.zone, shown=lambda m: shown_health(m, by_id),
        price=lb_price(s), units=UNITS,
    )


class LoadBalancerForm(BaseModel):
    """The create form, as typed: every field is text until the spec is built from it."""

    name: Line = ""
    type: Line = "http"
    algorithm: Line = "roundrobin"
    monitor_type: Line = "tcp"
    interval_ms: Line = "500"
    timeout_ms: Line = "400"
    rise: Line = "2"
    fall: Line = "2"
    http_path: Line = "/"
    expected_codes: Line = "200-399"
    custom_hosts: LongText = ""
    server_id: Line = ""
    port: Line = ""

    def spec(self) -> LoadBalancerSpec:
        members = (MemberSpec(self.server_id, _port(self.port, "port")),) if self.server_id else ()
        return LoadBalancerSpec(
            name=self.name.strip(), type=self.type, algorithm=self.algorithm,
            monitor=self._monitor(), custom_hosts=tuple(_lines(self.custom_hosts)),
            members=members,
        )

    def _monitor(self) -> Monitor:
        return Monitor(
            type=self.monitor_type,  # type: ignore[arg-type]  # the select offers http and tcp
            interval_ms=_number(self.interval_ms, "monitor.interval_ms"),
            timeout_ms=_number(self.timeout_ms, "monitor.timeout_ms"),
            rise=_number(self.rise, "monitor.rise"), fall=_number(self.fall, "monitor.fall"),
            http_path=self.http_path.strip() or "/", expected_codes=self.expected_codes.strip(),
        )


@router.post("/loadbalancers")
def create_loadbalancer(s: TenantPost, form: Annotated[LoadBalancerForm, Form()]) -> Response:
    try:
        view = service.create_loadbalancer(
            db=s.container.db, clock=s.container.clock, driver=s.driver,
            config=s.container.lb_config, project_id=s.tenant_id, region=s.region,
            spec=form.spec(),
        )
    except SWSError as error:
        return _list_page(s, form.model_dump(), error)
    done = s.gettext("Load balancer %(name)s created.", name=view.row.name)
    return redirect(s, f"{BACK}/{view.row.id}", [("ok", done)])


def _number(value: str, field: str) -> int:
    """A whole number; its range is the model's rule (`check_monitor`)."""
    try:
        return int(value.strip())
    except ValueError:
        raise Invalid(f"{field} must be a whole number", field=field) from None


def _port(value: str, field: str) -> int:
    return pages.whole_number(value or "0", field=field, low=1, high=65535)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


# ---- one load balancer --------------------------------------------------------------------


@router.get("/loadbalancers/{lb_id}")
def loadbalancer(s: Tenant, lb_id: str) -> Response:
    view = service.get_loadbalancer(
        db=s.container.db, clock=s.container.clock, config=s.container.lb_config,
        project_id=s.tenant_id,
        lb_id=lb_id,
    )
    servers = pages.live_briefs(s)
    by_id = {srv.id: srv for srv in servers}
    zone = s.container.lb_config.zone
    auto = next((host for host, kind in view.row.hosts if kind == "auto"), "")
    return page(
        s, "loadbalancers/detail.html", lb=view, servers=servers,
        names=pages.names_by_id(servers), types=TYPES, algorithms=ALGORITHMS,
        health=HEALTH, health_class=HEALTH_CLASS, zone=zone, auto_host=auto,
        cnames=cname_targets(view.row.hosts, zone), shown=lambda m: shown_health(m, by_id),
    )


def cname_targets(hosts: Sequence[tuple[str, str]], zone: str) -> dict[str, str]:
    """Each custom name outside the LB zone -> the automatic name its owner must CNAME it
    to: SWS's DNS answers only for names in the zone and refuses the others."""
    auto = next((host for host, kind in hosts if kind == "auto"), None)
    if auto is None:
        return {}
    return {host: auto for host, kind in hosts if kind != "auto" and not in_zone(host, zone)}


def in_zone(host: str, zone: str) -> bool:
    return host == zone or host.endswith(f".{zone}")


@router.post("/loadbalancers/{lb_id}/delete")
def delete_loadbalancer(s: TenantPost, lb_id: str) -> Response:
    """Any of the tenant's LBs, an instance's public domain too (its instance may be gone):
    the console deletes a public domain the way the API's public-domain route does."""
    def work() -> None:
        view = service.get_loadbalancer(db=s.container.db, clock=s.container.clock,
                                        config=s.container.lb_config, project_id=s.tenant_id,
                                        lb_id=lb_id)
        server_id = view.row.public_domain_server_id
        if server_id is None:
            service.delete_loadbalancer(db=s.container.db, clock=s.container.clock,
                                        project_id=s.tenant_id, lb_id=lb_id)
        else:
            service.delete_public_domain(db=s.container.db, clock=s.container.clock,
                                         project_id=s.tenant_id, server_id=server_id)

    return attempt(s, BACK, s.gettext("Load balancer deleted."), work)


@router.post("/loadbalancers/{lb_id}/members")
def add_member(
    s: TenantPost, lb_id: str, server_id: Text = "", port: Text = "", weight: Text = "1",
    backup: Text = "",
) -> Response:
    def work() -> object:
        spec = MemberSpec(
            server_id, _port(port, "port"),
            pages.whole_number(weight or "1", field="weight", low=0, high=256), backup == "on",
        )
        return service.add_member(
            db=s.container.db, clock=s.container.clock, driver=s.driver,
            config=s.container.lb_config,
            project_id=s.tenant_id, lb_id=lb_id, spec=spec,
        )

    return attempt(s, f"{BACK}/{lb_id}", s.gettext("Member added."), work)


@router.post("/loadbalancers/{lb_id}/members/{member_id}/delete")
def remove_member(s: TenantPost, lb_id: str, member_id: str) -> Response:
    return attempt(s, f"{BACK}/{lb_id}", s.gettext("Member removed."),
                   lambda: service.remove_member(db=s.container.db, project_id=s.tenant_id,
                                                 lb_id=lb_id, member_id=member_id))


@router.post("/loadbalancers/{lb_id}/members/{member_id}/state")
def set_member_state(s: TenantPost, lb_id: str, member_id: str, state: Text = "") -> Response:
    return attempt(s, f"{BACK}/{lb_id}", s.gettext("Member updated."),
                   lambda: service.update_member(
                       db=s.container.db, clock=s.container.clock, config=s.container.lb_config,
                       project_id=s.tenant_id, lb_id=lb_id, member_id=member_id,
                       admin_state="maint" if state == "maint" else "enabled"))


@router.post("/loadbalancers/{lb_id}/hosts")
def add_host(s: TenantPost, lb_id: str, host: Text = "") -> Response:
    done = s.gettext("Host name %(host)s added.", host=host.strip())
    return attempt(s, f"{BACK}/{lb_id}", done, lambda: service.add_host(
        db=s.container.db, clock=s.container.clock, config=s.container.lb_config,
        project_id=s.tenant_id, lb_id=lb_id, host=host.strip()))


@router.post("/loadbalancers/{lb_id}/hosts/delete")
def remove_host(s: TenantPost, lb_id: str, host: Text = "") -> Response:
    done = s.gettext("Host name %(host)s removed.", host=host)
    return attempt(s, f"{BACK}/{lb_id}", done, lambda: service.remove_host(
        db=s.container.db, project_id=s.tenant_id, lb_id=lb_id, host=host))


# ---- an instance's public domain ----------------------------------------------------------


@router.get("/instances/{server_id}/public-domain")
def public_domain(s: Tenant, server_id: str) -> Response:
    """The confirmation: what a public domain is, what it costs, and the button; or the one
    the instance has, with Remove."""
    server = s.driver.get_server(s.tenant_id, server_id)  # 404 for another tenant's
    existing = public_domains(s, [server]).get(server.id)
    return page(s, "loadbalancers/public_domain.html", server=server, existing=existing,
                price=lb_price(s), units=UNITS, zone=s.container.lb_config.zone)


@router.post("/instances/{server_id}/public-domain")
def create_public_domain(s: TenantPost, server_id: str, port: Text = "22",
                         confirm: Text = "") -> Response:
    """Creates only when confirmed on the confirmation page (`confirm=yes`); the Instances
    list's button lands there first, so nothing billable is made with one click."""
    if confirm != "yes":
        s.driver.get_server(s.tenant_id, server_id)  # 404 before anything else
        return redirect(s, f"/console/instances/{server_id}/public-domain")
    try:
        view = service.create_public_domain(
            db=s.container.db, clock=s.container.clock, driver=s.driver,
            config=s.container.lb_config,
            project_id=s.tenant_id, region=s.region, server_id=server_id,
            port=_port(port or "22", "port"),
        )
    except SWSError as error:
        return redirect(s, "/console/instances", [("error", error.detail)])
    endpoint = view.endpoints[0] if view.endpoints else ""
    done = s.gettext("Public domain %(endpoint)s created.", endpoint=endpoint)
    return redirect(s, "/console/instances", [("ok", done)])


@router.post("/instances/{server_id}/public-domain/delete")
def delete_public_domain(s: TenantPost, server_id: str) -> Response:
    return attempt(s, "/console/instances", s.gettext("Public domain removed."),
                   lambda: service.delete_public_domain(
                       db=s.container.db, clock=s.container.clock, project_id=s.tenant_id,
                       server_id=server_id))
