"""Metering routes: meters and series per resource, alarms, bandwidth, Prometheus `/metrics`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from sws.agents import service as agents
from sws.bootstrap import Container
from sws.errors import SWSError
from sws.metering import alarms, exporter, service
from sws.metering.model import SeriesQuery, series_window
from sws.metering.repository import count_by
from sws.metering.tables import alarm_deliveries
from sws.metering.tables import alarms as alarm_table
from sws.observability.metrics import Exporter
from sws.web.deps import Admin, Caller, Page, Paged, Services

router = APIRouter(prefix="/v1", tags=["metering"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])
prometheus_router = APIRouter(tags=["health"])
ResourceId = Annotated[str, Path(max_length=64)]
AlarmId = Annotated[str, Path(max_length=64)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MeterRead(BaseModel):
    meter: str
    device: str
    unit: str
    kind: str


class PointRead(BaseModel):
    timestamp: datetime
    value: float


class SeriesRead(BaseModel):
    resource_id: str
    meter: str
    device: str
    unit: str
    granularity: int
    aggregate: str
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    sources: list[str]
    points: list[PointRead]


@router.get("/metrics/{resource_id}", response_model=Page[MeterRead])
def list_meters(
    resource_id: ResourceId, caller: Caller, services: Services, page: Paged
) -> Page[MeterRead]:
    """The resource's meters; `marker` is `<meter>/<device>` of the last one seen."""
    found = service.list_meters(
        db=services.db, project_id=caller.tenant_id, resource_id=resource_id
    )
    meters = (MeterRead.model_validate(m, from_attributes=True) for m in found)
    return page.window(meters, key=lambda m: f"{m.meter}/{m.device}")


@router.get(
    "/metrics/{resource_id}/{meter}", response_model=SeriesRead, response_model_by_alias=True
)
def get_series(
    resource_id: ResourceId,
    meter: Annotated[str, Path(max_length=64)],
    caller: Caller,
    services: Services,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    granularity: Annotated[str, Query(max_length=8)] = "300",
    aggregate: Annotated[str, Query(max_length=8)] = "mean",
    device: Annotated[str, Query(max_length=64)] = "",
) -> SeriesRead:
    start, end = series_window(start, end, services.clock.now())
    request = SeriesQuery.build(start, end, granularity, aggregate)
    found = service.query(
        db=services.db, project_id=caller.tenant_id, resource_id=resource_id, meter=meter,
        request=request, device=device,
    )
    points = [PointRead(timestamp=at, value=value) for at, value in found.points]
    return SeriesRead.model_validate({**_fields(found), "points": points})


def _fields(found: service.Series) -> dict[str, Any]:
    names = ("resource_id", "meter", "device", "unit", "granularity", "aggregate", "start", "end")
    return {**{n: getattr(found, n) for n in names}, "sources": found.sources}


# ---- alarms ---------------------------------------------------------------------------------


class WebhookAction(Body):
    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://", max_length=2048)
    secret: str = Field(min_length=16, max_length=256)


class EmailAction(Body):
    type: Literal["email"]
    to: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)


Action = Annotated[WebhookAction | EmailAction, Field(discriminator="type")]


class ThresholdRuleBody(Body):
    type: Literal["threshold"]
    resource_id: str = Field(min_length=1, max_length=64)
    meter: str = Field(max_length=64)
    device: str = Field(default="", max_length=64)
    aggregate: Literal["min", "max", "mean", "sum", "count", "last"] = "mean"
    granularity: Literal[60, 300, 3600, 86400] = 60
    comparison: Literal["gt", "ge", "lt", "le", "eq", "ne"]
    threshold: float
    evaluation_periods: int = Field(default=1, ge=1, le=1440)


class CompositeRuleBody(Body):
    type: Literal["and", "or"]
    rules: list[RuleBody] = Field(min_length=2, max_length=16)


RuleBody = Annotated[ThresholdRuleBody | CompositeRuleBody, Field(discriminator="type")]
CompositeRuleBody.model_rebuild()


class AlarmCreate(Body):
    name: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=255)
    rule: RuleBody
    alarm_actions: list[Action] = Field(default_factory=list, max_length=8)
    ok_actions: list[Action] = Field(default_factory=list, max_length=8)
    insufficient_data_actions: list[Action] = Field(default_factory=list, max_length=8)
    repeat_actions: bool = False
    enabled: bool = True


class AlarmUpdate(Body):
    description: str | None = Field(default=None, max_length=255)
    enabled: bool | None = None
    repeat_actions: bool | None = None


class AlarmHistoryRead(BaseModel):
    id: int
    at: datetime
    previous: str
    state: str
    reason: str


# An alarm answers as the domain value shows it, less its owner (always the caller).
AS_READ: dict[str, Any] = {"response_model": alarms.Alarm, "response_model_exclude": {"project_id"}}


@router.post("/alarms", status_code=201, **AS_READ)
def create_alarm(body: AlarmCreate, caller: Caller, services: Services) -> alarms.Alarm:
    actions = {
        state: [a.model_dump() for a in getattr(body, f"{state}_actions")]
        for state in ("alarm", "ok", "insufficient_data")
    }
    created = alarms.create_alarm(
        db=services.db, clock=services.clock, project_id=caller.tenant_id, name=body.name,
        description=body.description, rule=body.rule.model_dump(), actions=actions,
        repeat_actions=body.repeat_actions, enabled=body.enabled,
        targets=services.webhook_targets,
    )
    return created


@router.get("/alarms", response_model=Page[alarms.Alarm],
            response_model_exclude={"items": {"__all__": {"project_id"}}})
def list_alarms(caller: Caller, services: Services, page: Paged) -> Page[alarms.Alarm]:
    """The caller's alarms, oldest first."""
    found = alarms.list_alarms(db=services.db, project_id=caller.tenant_id, page=page.request)
    return page.of(found)


@router.get("/alarms/{alarm_id}", **AS_READ)
def get_alarm(alarm_id: AlarmId, caller: Caller, services: Services) -> alarms.Alarm:
    return alarms.get_alarm(db=services.db, project_id=caller.tenant_id, alarm_id=alarm_id)


@router.patch("/alarms/{alarm_id}", **AS_READ)
def update_alarm(
    alarm_id: AlarmId, body: AlarmUpdate, caller: Caller, services: Services
) -> alarms.Alarm:
    changes = body.model_dump(exclude_none=True)
    return alarms.update_alarm(
        db=services.db, project_id=caller.tenant_id, alarm_id=alarm_id, changes=changes
    )


@router.delete("/alarms/{alarm_id}", status_code=204)
def delete_alarm(alarm_id: AlarmId, caller: Caller, services: Services) -> Response:
    alarms.delete_alarm(db=services.db, project_id=caller.tenant_id, alarm_id=alarm_id)
    return Response(status_code=204)


@router.get("/alarms/{alarm_id}/history", response_model=Page[AlarmHistoryRead])
def alarm_history(
    alarm_id: AlarmId, caller: Caller, services: Services, page: Paged
) -> Page[AlarmHistoryRead]:
    """Newest first; `marker` is the `id` of the last entry seen."""
    entries = alarms.history(
        db=services.db, project_id=caller.tenant_id, alarm_id=alarm_id, page=page.request
    )
    return page.of([AlarmHistoryRead.model_validate(e, from_attributes=True) for e in entries])


# ---- admin and Prometheus -------------------------------------------------------------------


class BandwidthRead(BaseModel):
    project_id: str
    resource_id: str
    hour_start: datetime
    bytes: int
    unit: str


@admin_router.get("/metering/bandwidth", response_model=Page[BandwidthRead])
def bandwidth(
    _admin: Admin,
    services: Services,
    page: Paged,
    start: Annotated[datetime, Query(alias="from")],
    end: Annotated[datetime, Query(alias="to")],
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[BandwidthRead]:
    """Bytes per resource and hour; `marker` is `<resource_id>/<hour_start>` of the last row."""
    usage = service.bandwidth_usage(
        db=services.db, start=start, end=end, project_id=tenant_id
    )
    rows = (BandwidthRead.model_validate(u, from_attributes=True) for u in usage)
    return page.window(rows, key=lambda r: f"{r.resource_id}/{r.hour_start.isoformat()}")


@prometheus_router.get("/metrics", response_class=Response)
def prometheus(services: Services) -> Response:
    """SWS health for Prometheus; per-instance series when `metering_prometheus_instances`."""
    runtime = services.metering
    lines: list[str] = []
    if runtime is not None:
        with services.db.read() as conn:
            counts = {
                "sws_alarms": count_by(conn, alarm_table, "state"),
                "sws_alarm_deliveries": count_by(conn, alarm_deliveries, "status"),
            }
        lines = exporter.health_lines(runtime.health, counts)
        if services.settings.metering_prometheus_instances:
            lines += exporter.instance_lines(runtime.collector.last_readings)
    lines += _agent_lines(services)
    process = Exporter(db=services.db, clock=services.clock, role="api").text()
    return Response("\n".join(lines) + "\n" + process, media_type=exporter.CONTENT_TYPE)


def _agent_lines(services: Container) -> list[str]:
    """Node agents: stale, behind, or reporting for a host no region knows."""
    try:
        found = agents.summaries(db=services.db, clock=services.clock, settings=services.settings,
                                 cdn_config=services.cdn_config,
                                 drivers=list(services.drivers().values()))
    except SWSError as error:  # the cloud is unreachable: SWS's own health stays readable
        logging.getLogger(__name__).warning("agent metrics left out: %s", error.detail)
        return []
    return exporter.agent_lines(found)
