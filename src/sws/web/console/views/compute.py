"""Tenant compute pages: overview with quota bars, instances, launch, one instance, actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Response

from sws.billing import service as billing
from sws.compute import model as compute_rules
from sws.compute import service as compute
from sws.drivers.base import Server, ServerActionName, ServerFilter
from sws.errors import SWSError
from sws.regions import service as regions
from sws.web.console import hooks, pages
from sws.web.console.charts import quota_bars
from sws.web.console.context import Session, Tenant, TenantPost
from sws.web.console.i18n import N_
from sws.web.console.render import page, redirect
from sws.web.console.routing import ConsoleRoute
from sws.web.console.views import billing as billing_views
from sws.web.console.views import community as community_pages
from sws.web.console.views import connect, loadbalancers
from sws.web.console.views import cost as cost_views
from sws.web.console.views import tags as tag_views

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
Filter = Annotated[str, Query(max_length=64)]
SIMPLE_ACTIONS: dict[str, ServerActionName] = {"start": "start", "stop": "stop", "reboot": "reboot"}
ACTION_DONE = {
    "start": N_("Starting %(name)s."), "stop": N_("Shutting off %(name)s."),
    "reboot": N_("Rebooting %(name)s."), "terminate": N_("Terminating %(name)s."),
    "snapshot": N_("Taking snapshot %(snapshot)s of %(name)s."),
}
CHANGES: tuple[compute_rules.Change, ...] = (
    "rename", "rebuild", "resize", "confirm_resize", "revert_resize",
)


@router.get("/")
def overview(s: Tenant) -> Response:
    usage = s.driver.quota_usage(s.tenant_id)
    counts = s.driver.count_servers(s.tenant_id)
    return page(s, "overview.html", bars=quota_bars(usage), counts=sorted(counts.items()),
                labels=pages.STATUS_LABELS, free_tier=community_pages.overview_summary(s),
                cost=cost_views.overview_cost(s), cost_labels=dict(billing_views.CATEGORIES))


@router.get("/instances")
def instances(s: Tenant, name: Filter = "", status: Filter = "", marker: Filter = "",
              tag: tag_views.TagFilter = "") -> Response:
    filters = ServerFilter(name=name or None, status=status or None)
    if tag:  # every instance so tagged, on one page
        servers, pager = tag_views.tagged_servers(s, filters, tag), pages.Pager()
    else:
        ids = pages.filtered_ids(s, filters, marker)
        servers, pager = pages.server_page(s, marker, ids, filters)
    return page(
        s, "instances.html", servers=servers, name=name, status=status,
        tag=tag, tags=tag_views.chips(s, "servers"),
        statuses=pages.FILTER_STATUSES, labels=pages.STATUS_LABELS, power=pages.POWER_LABELS,
        pager=pager, moving=pages.is_transitional,
        domains=loadbalancers.public_domains(s, servers),
    )


@router.get("/instances/states")
def instance_states(s: Tenant, id: Annotated[list[str], Query(max_length=100)]) -> Any:
    """JSON for the page script that refreshes rows still in a transitional state."""
    rows = []
    for server_id in id:
        try:
            rows.append(_state(s, s.driver.get_server(s.tenant_id, server_id)))
        except SWSError:
            rows.append({"id": server_id, "gone": True, "moving": False})
    return {"servers": rows}


def _state(s: Session, server: Server) -> dict[str, Any]:
    return {
        "id": server.id, "gone": False, "moving": pages.is_transitional(server),
        "code": server.status.lower(),
        "status": s.gettext(pages.STATUS_LABELS.get(server.status, server.status)),
        "task": server.task_state or "", "fixed": ", ".join(server.fixed_ips),
        "power": s.gettext(pages.POWER_LABELS.get(server.power_state, server.power_state)),
        "power_state": server.power_state,
        "floating": ", ".join(server.floating_ips),
    }


@router.get("/instances/launch")
def launch_form(s: Tenant) -> Response:
    return _launch_page(s, {}, None)


@router.post("/instances/launch")
def launch(
    s: TenantPost, name: Text = "", flavor_id: Text = "", image_id: Text = "",
    key_name: Text = "", security_groups: Annotated[list[str], Form()] = [],  # noqa: B006
    count: Text = "1",
) -> Response:
    values = {"name": name, "flavor_id": flavor_id, "image_id": image_id, "key_name": key_name,
              "security_groups": security_groups, "count": count}
    try:
        spec = pages.launch_spec(
            name=name, flavor_id=flavor_id, image_id=image_id, key_name=key_name,
            security_groups=security_groups, count=count,
        )
        billing.ensure_can_create(db=s.container.db, tenant_id=s.tenant_id)  # 402 if suspended
        regions.ensure_open(db=s.container.db, settings=s.container.settings, name=s.region)
        s.container.check_launch(s.tenant_id, s.driver.region)  # a free region's launch rate
        launched = s.driver.create_servers(s.tenant_id, s.principal.user_id, spec)
    except SWSError as error:
        return _launch_page(s, values, error)
    message = s.ngettext("Launching %(num)d instance.", "Launching %(num)d instances.",
                         len(launched))
    return redirect(s, "/console/instances", [("ok", message)])


def _launch_page(s: Session, values: dict[str, Any], error: SWSError | None) -> Response:
    driver = s.driver
    flavors = driver.list_flavors()
    images = [i for i in driver.list_images(s.tenant_id) if i.status == "active"]
    return page(
        s, "launch.html", code=error.status if error else 200, error=error, values=values,
        flavors=flavors, prices=hooks.flavor_prices(s, flavors), images=images,
        units=billing_views.UNITS,
        keypairs=driver.list_keypairs(s.tenant_id),
        groups=driver.list_security_groups(s.tenant_id),
    )


@router.get("/instances/{server_id}")
def instance(s: Tenant, server_id: str) -> Response:
    server = s.driver.get_server(s.tenant_id, server_id)
    return page(
        s, "instance.html", server=server, ssh=pages.ssh_command(server),
        tags=tag_views.tags_of(s, "servers", server.id),
        labels=pages.STATUS_LABELS, power=pages.POWER_LABELS, moving=pages.is_transitional,
        log=connect.system_log(s, server.id, connect.LOG_TAIL),
        changes=_changes(s, server),
        month_cost=cost_views.instance_cost(s, server.id),
    )


@dataclass(frozen=True, slots=True)
class Refused:
    """A rename, rebuild or resize the instance page shows again: which form, why, and what
    was typed (kept in the request's state while the page renders)."""

    form: str = ""
    error: SWSError | None = None
    values: dict[str, str] = field(default_factory=dict)


def _changes(s: Session, server: Server) -> dict[str, Any]:
    """What the rename, rebuild and resize forms show: why each is refused now (None if it
    is not), the OS images, the other flavors with their prices. Lists are read only for a
    form that can be used."""
    refused = {change: compute_rules.refusal(server, change) for change in CHANGES}
    images = [] if refused["rebuild"] else compute.rebuild_images(s.driver, s.tenant_id)
    flavors = [] if refused["resize"] else compute.resize_flavors(s.driver, server)
    return {
        "last": getattr(s.request.state, "refused", Refused()), "refused": refused,
        "images": images, "flavors": flavors, "units": billing_views.UNITS,
        "prices": hooks.flavor_prices(s, flavors) if flavors else {},
    }


@router.post("/instances/{server_id}/rename")
def rename(s: TenantPost, server_id: str, name: Text = "") -> Response:
    return _change(
        s, server_id, Refused("rename", values={"name": name}),
        lambda: compute.rename(s.driver, s.tenant_id, server_id, name, db=s.container.db,
                               clock=s.container.clock),
        lambda server: s.gettext("Renamed to %(name)s.", name=server.name),
    )


@router.post("/instances/{server_id}/rebuild")
def rebuild(s: TenantPost, server_id: str, image_id: Text = "") -> Response:
    return _change(
        s, server_id, Refused("rebuild", values={"image_id": image_id}),
        lambda: compute.rebuild(s.driver, s.tenant_id, server_id, image_id),
        lambda server: s.gettext(
            "Rebuilding %(name)s: its disk is being reinstalled.", name=server.name
        ),
    )


@router.post("/instances/{server_id}/resize")
def resize(s: TenantPost, server_id: str, flavor_id: Text = "") -> Response:
    return _change(
        s, server_id, Refused("resize", values={"flavor_id": flavor_id}),
        lambda: compute.resize(s.driver, s.tenant_id, server_id, flavor_id),
        lambda server: s.gettext(
            "Resizing %(name)s. When it is done, confirm the new flavor or revert to the old "
            "one.", name=server.name,
        ),
    )


@router.post("/instances/{server_id}/resize/finish")
def finish_resize(s: TenantPost, server_id: str, choice: Text = "") -> Response:
    keep = choice == "confirm"
    done = N_("%(name)s keeps its new flavor.") if keep else N_(
        "Reverting %(name)s to its old flavor.")
    return _change(
        s, server_id, Refused("finish_resize"),
        lambda: compute.finish_resize(s.driver, s.tenant_id, server_id, keep),
        lambda server: s.gettext(done, name=server.name),
    )


def _change(
    s: Session, server_id: str, attempt: Refused, work: Callable[[], Server],
    done: Callable[[Server], str],
) -> Response:
    """Run one change: back to the instance with what happened, or its page again with the
    reason beside the form (a missing or another tenant's instance stays a 404)."""
    try:
        server = work()
    except SWSError as error:
        s.request.state.refused = Refused(attempt.form, error, attempt.values)
        response = instance(s, server_id)
        response.status_code = error.status
        return response
    return redirect(s, f"/console/instances/{server.id}", [("ok", done(server))])


@router.post("/instances/action")
def instance_action(
    s: TenantPost, action: Text = "", ids: Annotated[list[str], Form()] = [],  # noqa: B006
    snapshot_name: Text = "", back: Text = "",
) -> Response:
    target = back if back.startswith("/console/instances") else "/console/instances"
    if action in ("connect", "log"):
        if len(ids) != 1:
            return redirect(s, target, [("error", s.gettext("Select exactly one instance."))])
        anchor = "#connect" if action == "connect" else "#system-log"
        return redirect(s, f"/console/instances/{ids[0]}{anchor}")
    if action not in ACTION_DONE or not ids:
        return redirect(s, target, [("error", s.gettext("Select instances and an action."))])
    return redirect(s, target, [_act(s, action, i, snapshot_name) for i in ids[:100]])


def _act(s: Session, action: str, server_id: str, snapshot_name: str) -> tuple[str, str]:
    """Run one action on one instance; the outcome is a message, success or the API's reason."""
    driver, name = s.driver, server_id
    snapshot = ""
    try:
        name = driver.get_server(s.tenant_id, server_id).name
        if action == "terminate":
            driver.delete_server(s.tenant_id, server_id)
        elif action == "snapshot":
            snapshot = snapshot_name.strip() or f"{name}-snapshot"
            driver.create_snapshot(s.tenant_id, server_id, snapshot)
        else:
            driver.server_action(s.tenant_id, server_id, SIMPLE_ACTIONS[action])
    except SWSError as error:
        return "error", s.gettext("%(name)s: %(reason)s", name=name, reason=error.detail)
    return "ok", s.gettext(ACTION_DONE[action], name=name, snapshot=snapshot)
