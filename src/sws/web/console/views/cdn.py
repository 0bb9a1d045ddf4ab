"""Tenant pages for the CDN: the distributions, creating one from a container or an http load
balancer, and one distribution (its names and the TXT record a custom domain needs, settings,
purges with each edge's progress, and traffic and hit-ratio graphs).

Everything goes through `sws.cdn.service` and `sws.cdn.traffic`, the same calls as
/v1/cdn/*; this module only turns forms into their arguments and their answers into pages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Response
from pydantic import BaseModel, Field

from sws.cdn import service, traffic
from sws.cdn.limiter import TooManyPurges
from sws.cdn.model import (
    CACHED_METHODS,
    METHODS,
    CacheSettings,
    DistributionSpec,
    OriginSpec,
    PurgeSpec,
)
from sws.errors import SWSError
from sws.loadbalancer import service as loadbalancers
from sws.paging import PageRequest
from sws.storagefw import service as storage
from sws.web.console import charts, pages
from sws.web.console.context import Session, Tenant, TenantPost
from sws.web.console.i18n import N_
from sws.web.console.render import attempt, page, redirect
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console/cdn", route_class=ConsoleRoute, include_in_schema=False)
Line = Annotated[str, Field(max_length=1024)]
Text = Annotated[str, Form(max_length=1024)]
BACK = "/console/cdn"
GRAPH_HOURS = 24
PURGES_SHOWN = 10
ORIGIN_KINDS = {"container": N_("Storage container"), "loadbalancer": N_("HTTP load balancer")}
PURGE_KINDS = {"url": N_("URL"), "prefix": N_("Path prefix"), "key": N_("Surrogate key"),
               "all": N_("Everything")}
PURGE_MODES = {"soft": N_("Soft (revalidate)"), "hard": N_("Hard (remove now)")}
STATES = {"accepted": N_("accepted"), "propagating": N_("propagating"), "done": N_("done"),
          "pending": N_("pending"), "failed": N_("failed")}


def _caller(s: Session) -> service.Caller:
    actor = service.Actor(user_id=s.principal.user_id, name=s.principal.user_name,
                          source="console")
    return service.Caller(s.tenant_id, actor, s.region)


# ---- the list and creation ----------------------------------------------------------------


@router.get("")
def distributions(s: Tenant) -> Response:
    return _list_page(s, {}, None)


def _list_page(s: Session, values: dict[str, Any], error: SWSError | None) -> Response:
    found = service.list_distributions(db=s.container.db, project_id=s.tenant_id)
    lbs = [v.row for v in loadbalancers.list_loadbalancers(
        db=s.container.db, clock=s.container.clock, config=s.container.lb_config,
        project_id=s.tenant_id) if v.row.type == "http"]
    containers = storage.list_containers(store=s.container.object_store(s.region),
                                         project_id=s.tenant_id)
    return page(s, "cdn/list.html", code=error.status if error else 200, distributions=found,
                lbs=lbs, containers=containers, origin_kinds=ORIGIN_KINDS, values=values,
                error=error)


class DistributionForm(BaseModel):
    """The create form, as typed; the origin is `container:<name>` or `loadbalancer:<id>`."""

    name: Line = ""
    origin: Line = ""
    default_ttl: Line = "3600"

    def spec(self) -> DistributionSpec:
        kind, _, ref = self.origin.partition(":")
        ttl = pages.whole_number(self.default_ttl or "0", field="default_ttl", low=0,
                                 high=10**9)
        return DistributionSpec(name=self.name.strip(), origin=OriginSpec(kind, ref),
                                settings=CacheSettings(default_ttl=ttl))


@router.post("")
def create_distribution(s: TenantPost, form: Annotated[DistributionForm, Form()]) -> Response:
    try:
        row = service.create_distribution(
            db=s.container.db, clock=s.container.clock, config=s.container.cdn_config,
            origins=service.Origins(object_store=s.container.object_store), caller=_caller(s),
            spec=form.spec())
    except SWSError as error:
        return _list_page(s, form.model_dump(), error)
    done = s.gettext("Distribution %(name)s created.", name=row.name)
    return redirect(s, f"{BACK}/{row.id}", [("ok", done)])


# ---- one distribution ---------------------------------------------------------------------


@router.get("/{distribution_id}")
def distribution(s: Tenant, distribution_id: str) -> Response:
    db = s.container.db
    row = service.get_distribution(db=db, project_id=s.tenant_id,
                                   distribution_id=distribution_id)
    purges = service.list_purges(db=db, project_id=s.tenant_id, distribution_id=row.id,
                                 page=PageRequest(limit=PURGES_SHOWN))
    domains = [(host, *service.domain_proof(row.project_id, host))
               for host, kind in row.hosts if kind == "custom"]
    auto = next(host for host, kind in row.hosts if kind == "auto")
    return page(s, "cdn/detail.html", d=row, auto_host=auto, domains=domains, purges=purges,
                graphs=_graphs(s, row.id), origin_kinds=ORIGIN_KINDS, purge_kinds=PURGE_KINDS,
                purge_modes=PURGE_MODES, states=STATES, short=charts.short_number,
                methods=METHODS, cached_methods=CACHED_METHODS)


def _graphs(s: Session, distribution_id: str) -> list[charts.LineChart]:
    """Requests, bytes sent and hit ratio per hour over the last day."""
    series = traffic.hourly(db=s.container.db, clock=s.container.clock,
                            project_id=s.tenant_id, distribution_id=distribution_id,
                            hours=GRAPH_HOURS)
    start, end = series[0][0], series[-1][0] + timedelta(hours=1)
    ratio = [(hour, 100 * c.hit_ratio) for hour, c in series if c.hit_ratio is not None]
    return [
        charts.line_chart(s.gettext("Requests per hour"), "",
                          [(hour, float(c.requests)) for hour, c in series], start, end),
        charts.line_chart(s.gettext("Hit ratio"), "%", ratio, start, end, max_value=100),
        charts.line_chart(s.gettext("Traffic per hour"), "B",
                          [(hour, float(c.bytes)) for hour, c in series], start, end),
    ]


class SettingsForm(BaseModel):
    """Check boxes are absent when unticked."""

    name: Line = ""
    default_ttl: Line = ""
    honour_origin: Line = ""
    query_in_key: Line = ""
    enabled: Line = ""
    allowed_methods: list[Line] = Field(default_factory=list)  # GET and HEAD: always

    def change(self) -> service.DistributionChange:
        ttl = pages.whole_number(self.default_ttl or "0", field="default_ttl", low=0,
                                 high=10**9)
        return service.DistributionChange(
            name=self.name.strip() or None, default_ttl=ttl,
            honour_origin=bool(self.honour_origin), query_in_key=bool(self.query_in_key),
            enabled=bool(self.enabled),
            allowed_methods=(*CACHED_METHODS, *self.allowed_methods))


@router.post("/{distribution_id}/settings")
def update_settings(s: TenantPost, distribution_id: str,
                    form: Annotated[SettingsForm, Form()]) -> Response:
    back = f"{BACK}/{distribution_id}"
    return attempt(s, back, s.gettext("Settings saved."), lambda: service.update_distribution(
        db=s.container.db, clock=s.container.clock, caller=_caller(s),
        distribution_id=distribution_id, change=form.change(),
        origins=service.Origins(object_store=s.container.object_store),
        config=s.container.cdn_config))


@router.post("/{distribution_id}/domains")
def add_domain(s: TenantPost, distribution_id: str, domain: Text = "") -> Response:
    back = f"{BACK}/{distribution_id}"
    return attempt(s, back, s.gettext("Domain %(domain)s added.", domain=domain.strip()),
                   lambda: service.add_domain(
                       db=s.container.db, clock=s.container.clock,
                       config=s.container.cdn_config, caller=_caller(s),
                       distribution_id=distribution_id, domain=domain))


@router.post("/{distribution_id}/domains/{domain}/delete")
def remove_domain(s: TenantPost, distribution_id: str, domain: str) -> Response:
    back = f"{BACK}/{distribution_id}"
    return attempt(s, back, s.gettext("Domain %(domain)s removed.", domain=domain),
                   lambda: service.remove_domain(
                       db=s.container.db, clock=s.container.clock, caller=_caller(s),
                       distribution_id=distribution_id, domain=domain))


@router.post("/{distribution_id}/purges")
def purge(s: TenantPost, distribution_id: str, kind: Text = "url", value: Text = "",
          mode: Text = "soft") -> Response:
    back = f"{BACK}/{distribution_id}"
    try:
        request = service.PurgeRequest(distribution_id,
                                       PurgeSpec(kind, "" if kind == "all" else value, mode))
        service.create_purge(
            db=s.container.db, clock=s.container.clock, config=s.container.cdn_config,
            limiter=s.container.purge_limiter, caller=_caller(s), request=request)
    except TooManyPurges as error:
        wait = s.gettext("Too many purges: try again in %(seconds)s s.",
                         seconds=error.retry_after)
        return redirect(s, back, [("error", wait)])
    except SWSError as error:
        return redirect(s, back, [("error", error.detail)])
    return redirect(s, back, [("ok", s.gettext("Purge accepted; the edges report below."))])


@router.post("/{distribution_id}/delete")
def delete(s: TenantPost, distribution_id: str) -> Response:
    try:
        service.delete_distribution(db=s.container.db, clock=s.container.clock,
                                    caller=_caller(s), distribution_id=distribution_id,
                                    config=s.container.cdn_config)
    except SWSError as error:
        return redirect(s, f"{BACK}/{distribution_id}", [("error", error.detail)])
    return redirect(s, BACK, [("ok", s.gettext("Distribution deleted."))])


