"""Instance Monitoring: CPU, disk and network graphs over a chosen range, and alarms.

Series come from `sws.metering.service.query` (the same as GET /v1/metrics/…), alarms from
`sws.metering.alarms`; the graphs are SVG drawn on the server (`charts.line_chart`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Response

from sws.drivers.base import Server
from sws.errors import Invalid, SWSError
from sws.metering import alarms as alarm_service
from sws.metering import service as metering
from sws.metering.model import SeriesQuery
from sws.web.console import charts, pages
from sws.web.console.context import Session, Tenant, TenantPost
from sws.web.console.i18n import N_
from sws.web.console.render import page, redirect
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console/monitoring", route_class=ConsoleRoute,
                   include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
LongText = Annotated[str, Form(max_length=2048)]
Marker = Annotated[str, Query(max_length=64)]


@dataclass(frozen=True, slots=True)
class Range:
    key: str
    label: str
    span: timedelta
    granularity: int  # a metering rollup: 60, 300, 3600 or 86400 s


#: Each range with the rollup that gives 60 to 720 points: enough detail, never a slow query.
RANGES = (
    Range("1h", N_("1 hour"), timedelta(hours=1), 60),
    Range("6h", N_("6 hours"), timedelta(hours=6), 300),
    Range("1d", N_("1 day"), timedelta(days=1), 300),
    Range("1w", N_("1 week"), timedelta(days=7), 3600),
    Range("1m", N_("1 month"), timedelta(days=30), 3600),
)
RANGE_BY_KEY = {r.key: r for r in RANGES}


@dataclass(frozen=True, slots=True)
class Graph:
    meter: str
    title: str
    unit: str
    max_value: float | None


GRAPHS = (
    Graph("cpu_util", N_("CPU utilisation"), "%", 100.0),
    Graph("disk.device.read.bytes.rate", N_("Disk read"), "B/s", None),
    Graph("disk.device.write.bytes.rate", N_("Disk write"), "B/s", None),
    # the instance's NICs together: the collector stores a rate per instance (device "")
    Graph("network.incoming.bytes.rate", N_("Network in"), "B/s", None),
    Graph("network.outgoing.bytes.rate", N_("Network out"), "B/s", None),
)
ALARM_METERS = (
    ("cpu_util", N_("CPU utilisation (%)")),
    ("disk.device.read.bytes.rate", N_("Disk read (B/s)")),
    ("disk.device.write.bytes.rate", N_("Disk write (B/s)")),
    ("network.incoming.bytes.rate", N_("Network in (B/s)")),
    ("network.outgoing.bytes.rate", N_("Network out (B/s)")),
    ("memory.usage", N_("Memory used (MiB)")),
)
COMPARISONS = (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"), ("eq", "="), ("ne", "≠"))
AGGREGATES = ("mean", "max", "min", "sum", "last")
WINDOWS = ((60, N_("1 minute")), (300, N_("5 minutes")), (3600, N_("1 hour")))
STATE_LABELS = {"ok": N_("OK"), "alarm": N_("Alarm"),
                "insufficient_data": N_("Insufficient data")}


def summary(s: Session, found: list[alarm_service.Alarm]) -> str:
    ok = sum(1 for a in found if a.state == "ok")
    return s.gettext("%(ok)d of %(total)d in OK", ok=ok, total=len(found))


@router.get("")
def index(s: Tenant, marker: Marker = "") -> Response:
    """A page of the instances (`marker`: the last one of the page before) and every alarm."""
    briefs = pages.live_briefs(s)  # the alarms' instance names, and where the pages start
    servers, pager = pages.server_page(s, marker, [brief.id for brief in briefs])
    found = alarm_service.list_alarms(db=s.container.db, project_id=s.tenant_id)
    return page(s, "monitoring/index.html", servers=servers, pager=pager, alarms=found,
                names=pages.names_by_id(briefs), summary=summary(s, found),
                states=STATE_LABELS, labels=pages.STATUS_LABELS)


@router.get("/{server_id}")
def instance(s: Tenant, server_id: str, range: Annotated[str, Query(max_length=8)] = "1h"
             ) -> Response:
    server = s.driver.get_server(s.tenant_id, server_id)
    return _instance_page(s, server, RANGE_BY_KEY.get(range, RANGES[0]), {}, None)


def _graphs(s: Session, server: Server, chosen: Range) -> list[charts.LineChart]:
    end = s.container.clock.now()
    start = end - chosen.span
    request = SeriesQuery.build(start, end, chosen.granularity, "mean")
    found = metering.query_meters(db=s.container.db, project_id=s.tenant_id,
                                  resource_id=server.id, meters=[g.meter for g in GRAPHS],
                                  request=request)
    out = []
    for graph in GRAPHS:
        series = found.get(graph.meter)  # none: no sample yet, an empty graph that says so
        out.append(charts.line_chart(s.gettext(graph.title), graph.unit,
                                     series.points if series else [], request.start, end,
                                     max_value=graph.max_value))
    return out


def _instance_page(s: Session, server: Server, chosen: Range, values: dict[str, Any],
                   error: SWSError | None) -> Response:
    found = [a for a in alarm_service.list_alarms(db=s.container.db, project_id=s.tenant_id)
             if _watches(a.rule, server.id)]
    return page(
        s, "monitoring/instance.html", code=error.status if error else 200, error=error,
        server=server, ranges=RANGES, chosen=chosen, graphs=_graphs(s, server, chosen),
        alarms=found, summary=summary(s, found), states=STATE_LABELS, values=values,
        meters=ALARM_METERS, comparisons=COMPARISONS, aggregates=AGGREGATES, windows=WINDOWS,
        labels=pages.STATUS_LABELS, names={server.id: server.name}, short=charts.short_number,
    )


def _watches(rule: dict[str, Any], server_id: str) -> bool:
    if rule.get("type") == "threshold":
        return bool(rule.get("resource_id") == server_id)
    return any(_watches(sub, server_id) for sub in rule.get("rules", []))


def _number(value: str, field: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        number = float("nan")
    if number != number or number in (float("inf"), float("-inf")):
        raise Invalid(f"{field} must be a number", field=field)
    return number


def _actions(action: str, url: str, secret: str, email: str) -> dict[str, list[dict[str, Any]]]:
    """The notification when the alarm fires: a signed webhook, an email, or none."""
    if action == "webhook":
        if not url.startswith(("http://", "https://")):
            raise Invalid("the webhook URL must start with http:// or https://", field="url")
        if len(secret) < 16:
            raise Invalid("the webhook secret needs at least 16 characters", field="secret")
        return {"alarm": [{"type": "webhook", "url": url, "secret": secret}]}
    if action == "email":
        if "@" not in email.strip("@") or any(c.isspace() for c in email):
            raise Invalid("give an email address such as ops@example.com", field="email")
        return {"alarm": [{"type": "email", "to": email}]}
    return {}


@dataclass(frozen=True, slots=True)
class AlarmForm:
    """The create-alarm form's fields, as typed (the Alarms page and an instance's page)."""

    name: str = ""
    meter: str = ""
    aggregate: str = "mean"
    comparison: str = "gt"
    threshold: str = ""
    granularity: str = "60"
    evaluation_periods: str = "3"
    action: str = "none"
    url: str = ""
    secret: str = ""
    email: str = ""

    def shown(self) -> dict[str, str]:
        """The values a re-shown form keeps (never the secret)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "secret"}


def create_from_form(s: Session, server: Server, form: AlarmForm) -> alarm_service.Alarm:
    """A threshold alarm on `server` from the form, through the metering service."""
    if not form.name.strip():
        raise Invalid("an alarm needs a name", field="name")
    rule = {
        "type": "threshold", "resource_id": server.id, "meter": form.meter,
        "aggregate": form.aggregate, "comparison": form.comparison,
        "threshold": _number(form.threshold, "threshold"),
        "granularity": pages.whole_number(form.granularity, field="granularity", low=60,
                                          high=86400),
        "evaluation_periods": pages.whole_number(form.evaluation_periods,
                                                 field="evaluation_periods", low=1, high=1440),
    }
    return alarm_service.create_alarm(
        db=s.container.db, clock=s.container.clock, project_id=s.tenant_id,
        name=form.name.strip(), rule=rule,
        actions=_actions(form.action, form.url.strip(), form.secret, form.email.strip()),
        targets=s.container.webhook_targets,
    )


@router.post("/{server_id}/alarms")
def create_alarm(
    s: TenantPost, server_id: str, name: Text = "", meter: Text = "", aggregate: Text = "mean",
    comparison: Text = "gt", threshold: Text = "", granularity: Text = "60",
    evaluation_periods: Text = "3", action: Text = "none", url: LongText = "",
    secret: Text = "", email: Text = "", range: Text = "1h",
) -> Response:
    server = s.driver.get_server(s.tenant_id, server_id)
    form = AlarmForm(name, meter, aggregate, comparison, threshold, granularity,
                     evaluation_periods, action, url, secret, email)
    chosen = RANGE_BY_KEY.get(range, RANGES[0])
    try:
        created = create_from_form(s, server, form)
    except SWSError as error:
        return _instance_page(s, server, chosen, form.shown(), error)
    done = s.gettext("Alarm %(name)s created.", name=created.name)
    return redirect(s, f"/console/monitoring/{server.id}?range={chosen.key}#alarms",
                    [("ok", done)])


@router.post("/alarms/{alarm_id}/delete")
def delete_alarm(s: TenantPost, alarm_id: str, back: Text = "") -> Response:
    target = back if back.startswith("/console/monitoring") else "/console/monitoring"
    try:
        found = alarm_service.get_alarm(db=s.container.db, project_id=s.tenant_id,
                                        alarm_id=alarm_id)
        alarm_service.delete_alarm(db=s.container.db, project_id=s.tenant_id, alarm_id=alarm_id)
    except SWSError as error:
        return redirect(s, target, [("error", error.detail)])
    return redirect(s, target, [("ok", s.gettext("Alarm %(name)s deleted.", name=found.name))])
