"""Admin pages of the SWS filter: internal networks, allow rules, Cloud Bridge sources and
grants, and each compute host's agent report (status and drift).

`sws.netfilter.service` validates every field and writes each change together with its
audit entry (actions `netfilter.*`), so a successful change is recorded once, by the service.
A refused change writes nothing there; this module records the refusal (outcome `refused`),
as every admin form of the console does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Response

from sws.audit import service as audit
from sws.audit.model import AuditRecord
from sws.cdn import service as cdn
from sws.drivers.base import ServerFilter
from sws.errors import Invalid, SWSError
from sws.loadbalancer import agents as lb_agents
from sws.netfilter import service as nf
from sws.netfilter.model import PROTOCOLS, SCOPES
from sws.web.console import pages
from sws.web.console.context import Admin, AdminPost, Session
from sws.web.console.render import page, redirect
from sws.web.console.routing import ConsoleRoute
from sws.web.console.views.netfilter import actor, directory

router = APIRouter(prefix="/admin/netfilter", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
ALL = 1000


def _refused(s: Session, action: str, target: str, error: SWSError) -> None:
    audit.record(db=s.container.db, clock=s.container.clock, entry=AuditRecord(
        actor_user_id=s.principal.user_id, actor_name=s.principal.user_name,
        action=f"netfilter.{action}", target_type="netfilter", target_id=target or "-",
        detail=f"refused: {error.detail}", outcome="refused", remote_addr=s.client_ip,
    ))


def _change(s: Session, back: str, done: str, action: str, target: str,
            work: Callable[[], object]) -> Response:
    try:
        work()
    except SWSError as error:
        _refused(s, action, target, error)
        return redirect(s, back, [("error", _named(error))])
    return redirect(s, back, [("ok", done)])


def _named(error: SWSError) -> str:
    return f"{error.field}: {error.detail}" if error.field else error.detail


# ---- internal networks --------------------------------------------------------------------


@router.get("/networks")
def networks(s: Admin) -> Response:
    return page(s, "admin/netfilter_networks.html",
                networks=nf.list_internal_networks(db=s.container.db))


@router.post("/networks")
def add_network(s: AdminPost, cidr: Text = "", description: Text = "") -> Response:
    """The flash names the network as stored (canonical), not as typed."""
    try:
        network = nf.add_internal_network(db=s.container.db, clock=s.container.clock,
                                          actor=actor(s), cidr=cidr,
                                          description=description.strip())
    except SWSError as error:
        _refused(s, "internal_network_add", cidr, error)
        return redirect(s, "/admin/netfilter/networks", [("error", _named(error))])
    done = s.gettext("Internal network %(cidr)s added.", cidr=network.cidr)
    return redirect(s, "/admin/netfilter/networks", [("ok", done)])


@router.post("/networks/{network_id}/delete")
def delete_network(s: AdminPost, network_id: str, delete_rules: Text = "") -> Response:
    """Refused while allow rules use the network, unless the form's box says delete them."""
    return _change(s, "/admin/netfilter/networks", s.gettext("Internal network deleted."),
                   "internal_network_delete", network_id,
                   lambda: nf.delete_internal_network(db=s.container.db, clock=s.container.clock,
                                                      actor=actor(s), network_id=network_id,
                                                      delete_rules=delete_rules == "on"))


# ---- allow rules --------------------------------------------------------------------------


@router.get("/rules")
def rules(s: Admin) -> Response:
    return _rules_page(s, {}, None)


def _rules_page(s: Session, values: dict[str, Any], error: SWSError | None) -> Response:
    servers = s.driver.list_all_servers(ServerFilter(), ALL, None)
    return page(
        s, "admin/netfilter_rules.html", code=error.status if error else 200,
        views=nf.list_rules(db=s.container.db), tenants=pages.tenant_names(s),
        servers={srv.id: srv.name for srv in servers}, scopes=SCOPES, protocols=PROTOCOLS,
        values=values, error=error, now=s.container.clock.now(),
        internal=nf.list_internal_networks(db=s.container.db),
    )


@router.post("/rules")
def add_rule(
    s: AdminPost, scope: Text = "all", tenant_id: Text = "", instance_id: Text = "",
    destination: Text = "", protocol: Text = "tcp", port_min: Text = "", port_max: Text = "",
    expires_at: Text = "", reason: Text = "", confirm: Text = "",
) -> Response:
    values = {"scope": scope, "tenant_id": tenant_id, "instance_id": instance_id,
              "destination": destination, "protocol": protocol, "port_min": port_min,
              "port_max": port_max, "expires_at": expires_at, "reason": reason,
              "confirm": confirm == "on"}
    try:
        spec = nf.RuleSpec(
            scope=scope,  # type: ignore[arg-type]  # the service checks scope and protocol
            destination=destination.strip(), protocol=protocol,  # type: ignore[arg-type]
            reason=reason, port_min=_port(port_min, "port_min"),
            port_max=_port(port_max, "port_max"),
            tenant_id=(tenant_id.strip() or None) if scope == "tenant" else None,
            instance_id=(instance_id.strip() or None) if scope == "instance" else None,
            expires_at=_moment(expires_at), confirm=confirm == "on",
        )
        view = nf.add_rule(db=s.container.db, clock=s.container.clock, directory=directory(s),
                           actor=actor(s), spec=spec)
    except SWSError as error:
        _refused(s, "rule_add", destination.strip(), error)
        return _rules_page(s, values, error)
    done = s.gettext("Allow rule to %(destination)s added.", destination=view.rule.destination)
    return redirect(s, "/admin/netfilter/rules", [("ok", done)])


def _port(value: str, field: str) -> int | None:
    if not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise Invalid(f"{field} must be a whole number", field=field) from None


def _moment(value: str) -> datetime | None:
    """The form's `datetime-local` value, read as UTC (the page says so)."""
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid("expires_at is a date and time, e.g. 2026-12-31T18:00",
                      field="expires_at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.post("/rules/{rule_id}/delete")
def delete_rule(s: AdminPost, rule_id: str) -> Response:
    return _change(s, "/admin/netfilter/rules", s.gettext("Allow rule deleted."), "rule_delete",
                   rule_id, lambda: nf.delete_rule(db=s.container.db, clock=s.container.clock,
                                                   actor=actor(s), rule_id=rule_id))


# ---- Cloud Bridge -------------------------------------------------------------------------


@router.get("/bridge")
def bridge(s: Admin) -> Response:
    servers = s.driver.list_all_servers(ServerFilter(), ALL, None)
    return page(s, "admin/netfilter_bridge.html",
                sources=nf.list_bridge_sources(db=s.container.db),
                grants=nf.list_grants(db=s.container.db), tenants=pages.tenant_names(s),
                servers={srv.id: srv.name for srv in servers})


@router.post("/bridge-sources")
def add_bridge_source(s: AdminPost, cidr: Text = "", description: Text = "") -> Response:
    done = s.gettext("Cloud Bridge source %(cidr)s added.", cidr=cidr.strip())
    return _change(s, "/admin/netfilter/bridge", done, "bridge_source_add", cidr,
                   lambda: nf.add_bridge_source(db=s.container.db, clock=s.container.clock,
                                                actor=actor(s), cidr=cidr,
                                                description=description.strip()))


@router.post("/bridge-sources/{source_id}/delete")
def delete_bridge_source(s: AdminPost, source_id: str) -> Response:
    return _change(s, "/admin/netfilter/bridge", s.gettext("Cloud Bridge source deleted."),
                   "bridge_source_delete", source_id,
                   lambda: nf.delete_bridge_source(db=s.container.db, clock=s.container.clock,
                                                   actor=actor(s), source_id=source_id))


# ---- agents -------------------------------------------------------------------------------


@router.get("/hosts")
def hosts(s: Admin) -> Response:
    """Filter agents (stale, behind, unknown host), silent hypervisors, LB node agents and
    CDN edge agents."""
    window = nf.freshness(s.container.settings)
    found = nf.host_statuses(
        db=s.container.db, clock=s.container.clock, window=window,
        directories=nf.region_directories(db=s.container.db, first=s.driver,
                                          others=s.container.drivers().values()))
    known = {h.hostname for h in s.driver.list_hypervisors()}
    silent = sorted(known - {f.report["host"] for f in found})
    nodes = lb_agents.node_agents(db=s.container.db, clock=s.container.clock,
                                  config=s.container.lb_config)
    edges = cdn.edges(db=s.container.db, clock=s.container.clock, config=s.container.cdn_config)
    return page(s, "admin/netfilter_hosts.html", agents=found, silent=silent, nodes=nodes,
                edges=edges, strangers=[f.report["host"] for f in found if not f.known_host],
                window=int(window.window.total_seconds()),
                lb_window=int(lb_agents.freshness(s.container.lb_config).window.total_seconds()),
                cdn_window=int(s.container.cdn_config.edge_timeout_seconds))
