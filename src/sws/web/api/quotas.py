"""Routes for quota requests (扩容申请): a tenant asks for a preset size or per-resource
limits with a reason; the operator's rules approve at once or an admin decides under
/v1/admin/quota-requests. Thin: the use cases are sws.quotas.service's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from sws.bootstrap import Container
from sws.drivers.base import Quota
from sws.identity.model import Principal
from sws.quotas.model import MAX_LIMIT, MAX_NOTE, MAX_REASON, QuotaRequest, Rules, Sizes
from sws.quotas.service import Decision, QuotaAsk, QuotaConfig, QuotaRequests
from sws.web.api.responses import problems
from sws.web.deps import Admin, Caller, Page, Paged, Services

router = APIRouter(prefix="/v1", tags=["quotas"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])
Id = Annotated[str, Path(max_length=64)]
Limit = Annotated[int, Field(ge=0, le=MAX_LIMIT)]


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instances: Limit | None = None
    cores: Limit | None = None
    ram_mb: Limit | None = None
    floating_ips: Limit | None = None
    security_groups: Limit | None = None
    key_pairs: Limit | None = None


class QuotaRead(BaseModel):
    instances: int
    cores: int
    ram_mb: int
    floating_ips: int
    security_groups: int
    key_pairs: int


class SizeRead(BaseModel):
    name: str
    limits: QuotaRead


class QuotaRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: str | None = Field(default=None, min_length=1, max_length=16)
    limits: Limits | None = None
    reason: str = Field(min_length=1, max_length=MAX_REASON)
    language: Literal["en", "zh"] = "en"


class QuotaDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=MAX_NOTE)


class QuotaRequestRead(BaseModel):
    id: str
    tenant_id: str
    region: str
    requested_by: str
    size: str | None
    current: QuotaRead
    wanted: QuotaRead
    reason: str
    state: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    note: str


def quota_requests(services: Container) -> QuotaRequests:
    """The use cases with this cloud's settings and regions."""
    settings = services.settings
    rules = Rules(enabled=settings.quota_auto_approve, max_steps=settings.quota_auto_max_steps,
                  interval=timedelta(days=settings.quota_auto_interval_days))
    config = QuotaConfig(sizes=Sizes.from_mapping(settings.quota_sizes), rules=rules,
                         public_url=services.front_door.config.public_url)
    return QuotaRequests(db=services.db, clock=services.clock, config=config,
                         drivers=services.driver)


def _quota(quota: Quota) -> QuotaRead:
    return QuotaRead.model_validate(quota, from_attributes=True)


def read(found: QuotaRequest) -> QuotaRequestRead:
    return QuotaRequestRead(
        id=found.id, tenant_id=found.tenant_id, region=found.region,
        requested_by=found.requested_by, size=found.size, current=_quota(found.current),
        wanted=_quota(found.wanted), reason=found.reason, state=found.state,
        created_at=found.created_at, decided_at=found.decided_at, decided_by=found.decided_by,
        note=found.note,
    )


@router.get("/quota-sizes", response_model=list[SizeRead], responses=problems(401))
def quota_sizes(_caller: Caller, services: Services) -> list[SizeRead]:
    """The operator's preset quota sizes, smallest first."""
    sizes = Sizes.from_mapping(services.settings.quota_sizes)
    return [SizeRead(name=name, limits=_quota(quota)) for name, quota in sizes.presets]


@router.post(
    "/quota-requests", status_code=201, response_model=QuotaRequestRead,
    responses=problems(401, 403, 409, 422),
)
def ask(
    body: QuotaRequestCreate, caller: Caller, services: Services,
    x_sws_region: Annotated[str | None, Header()] = None,
) -> QuotaRequestRead:
    """Ask for a preset `size` or for `limits` by resource, with a reason; the answer's
    `state` is `approved` when the operator's rules approved it at once, else `pending`."""
    region = x_sws_region or services.default_region
    services.driver(region)  # an unknown region is a 422 on X-SWS-Region
    limits = body.limits.model_dump(exclude_none=True) if body.limits else None
    spec = QuotaAsk(reason=body.reason, size=body.size, limits=limits, language=body.language)
    return read(quota_requests(services).ask(caller=caller, region=region, ask=spec))


@router.get(
    "/quota-requests", response_model=Page[QuotaRequestRead], responses=problems(401, 403)
)
def my_requests(caller: Caller, services: Services, page: Paged) -> Page[QuotaRequestRead]:
    """The caller's tenant's quota requests and their state."""
    found = quota_requests(services).list(
        tenant_id=caller.tenant_id, state=None, limit=page.limit, marker=page.marker
    )
    return page.of([read(r) for r in found])


@router.get(
    "/quota-requests/{request_id}", response_model=QuotaRequestRead,
    responses=problems(401, 403, 404),
)
def my_request(request_id: Id, caller: Caller, services: Services) -> QuotaRequestRead:
    return read(quota_requests(services).get(caller=caller, request_id=request_id))


@admin_router.get(
    "/quota-requests", response_model=Page[QuotaRequestRead], responses=problems(401, 403)
)
def queue(
    _admin: Admin, services: Services, page: Paged,
    state: Annotated[Literal["pending", "approved", "denied"] | None, Query()] = "pending",
) -> Page[QuotaRequestRead]:
    """Every tenant's quota requests in a state (default: those waiting for an admin)."""
    found = quota_requests(services).list(
        tenant_id=None, state=state, limit=page.limit, marker=page.marker
    )
    return page.of([read(r) for r in found])


@admin_router.post(
    "/quota-requests/{request_id}/approve", response_model=QuotaRequestRead,
    responses=problems(401, 403, 404, 409, 422),
)
def approve(
    request_id: Id, body: QuotaDecision, admin: Admin, services: Services
) -> QuotaRequestRead:
    """Approve: the quota takes effect in the region at once, the tenant is mailed."""
    return _decide(services, admin, request_id, Decision(approve=True, note=body.note))


@admin_router.post(
    "/quota-requests/{request_id}/deny", response_model=QuotaRequestRead,
    responses=problems(401, 403, 404, 409, 422),
)
def deny(
    request_id: Id, body: QuotaDecision, admin: Admin, services: Services
) -> QuotaRequestRead:
    """Deny with a note: nothing changes in the region, the tenant is mailed."""
    return _decide(services, admin, request_id, Decision(approve=False, note=body.note))


def _decide(
    services: Container, admin: Principal, request_id: str, decision: Decision
) -> QuotaRequestRead:
    found = quota_requests(services).decide(admin=admin, request_id=request_id,
                                            decision=decision)
    return read(found)
