"""CDN traffic routes: a distribution's hourly traffic for its tenant, and the edges' traffic
reports under /v1/admin/cdn-edges."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from sws.cdn import traffic
from sws.cdn.traffic_model import MAX_ROWS, ClientTraffic, Counts, TrafficReport
from sws.web.api.responses import problems
from sws.web.deps import Admin, Caller, Services

router = APIRouter(prefix="/v1/cdn", tags=["cdn"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])
Id = Annotated[str, Path(max_length=64)]
Count = Annotated[int, Field(ge=0, le=2**62)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClientRow(Body):
    distribution: str = Field(min_length=1, max_length=64)
    client: str = Field(min_length=1, max_length=64, description="the client's address")
    hit_requests: Count = 0
    miss_requests: Count = 0
    hit_bytes: Count = 0
    miss_bytes: Count = 0


class TrafficReportBody(Body):
    stream: str = Field(min_length=1, max_length=64, description="the edge's access log")
    start: Annotated[int, Field(ge=0, le=2**62)] = Field(description="first byte of the window")
    end: Annotated[int, Field(gt=0, le=2**62)] = Field(description="byte after the window")
    rows: list[ClientRow] = Field(default_factory=list, max_length=MAX_ROWS)

    def report(self, edge: str) -> TrafficReport:
        return TrafficReport(edge, self.stream, self.start, self.end, tuple(
            ClientTraffic(r.distribution, r.client, Counts(
                r.hit_requests, r.miss_requests, r.hit_bytes, r.miss_bytes))
            for r in self.rows))


class TrafficReportAnswer(BaseModel):
    counted: bool = Field(description="false: this window was counted before (a replay)")


class HourRead(BaseModel):
    hour_start: datetime
    requests: int
    hit_requests: int
    miss_requests: int
    bytes: int
    hit_bytes: int
    miss_bytes: int
    hit_ratio: float | None


@admin_router.post("/cdn-edges/{edge}/traffic", response_model=TrafficReportAnswer,
                   responses=problems(404, 409))
def edge_traffic(edge: Id, body: TrafficReportBody, _: Admin, container: Services) -> Any:
    """A window of the edge's access log, counted once however often it is sent."""
    counted = traffic.record(db=container.db, clock=container.clock,
                             config=container.cdn_config, report=body.report(edge))
    return TrafficReportAnswer(counted=counted)


@router.get("/distributions/{distribution_id}/traffic", response_model=list[HourRead],
            responses=problems(404))
def distribution_traffic(
    distribution_id: Id, caller: Caller, container: Services,
    hours: Annotated[int, Query(ge=1, le=traffic.MAX_HOURS)] = 24,
) -> Any:
    """The last `hours` clock hours (this one included), oldest first, every ISP view summed."""
    series = traffic.hourly(db=container.db, clock=container.clock, project_id=caller.tenant_id,
                            distribution_id=distribution_id, hours=hours)
    return [HourRead(hour_start=hour, requests=c.requests, hit_requests=c.hit_requests,
                     miss_requests=c.miss_requests, bytes=c.bytes, hit_bytes=c.hit_bytes,
                     miss_bytes=c.miss_bytes, hit_ratio=c.hit_ratio)
            for hour, c in series]
