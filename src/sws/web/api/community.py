"""Routes of StackLab mode (docs/community.md): a tenant's leases of free instances and their
renewal; for the admin, the instances flagged idle or possibly mining, and the kill switch.
Thin: the use cases are sws.community.service's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from sws.bootstrap import Container
from sws.community import service as community
from sws.community.model import Lease, Terms
from sws.identity.model import Principal
from sws.web.api.responses import problems
from sws.web.deps import Admin, Caller, Page, Paged, Services

router = APIRouter(prefix="/v1/community", tags=["community"])
admin_router = APIRouter(prefix="/v1/admin/community", tags=["admin"])
Id = Annotated[str, Path(min_length=1, max_length=64)]


class LeaseRead(BaseModel):
    id: str  # the instance's
    region: str
    name: str
    started_at: datetime
    expires_at: datetime
    deletes_at: datetime  # if the lease ran out and was not renewed
    renewals: int
    warned: bool
    shelved: bool
    idle_since: datetime | None


class FlagRead(LeaseRead):
    tenant_id: str
    mining_since: datetime | None
    mining_cpu: float | None  # the lowest hourly CPU average (%) over the window


class Suspension(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class SuspensionRead(BaseModel):
    tenant_id: str
    enabled: bool
    stopped: int


def _terms(services: Container) -> Terms:
    return services.community.terms if services.community is not None else Terms()


def _lease(lease: Lease, terms: Terms) -> dict[str, object]:
    return {
        "id": lease.server_id,
        "region": lease.region,
        "name": lease.name,
        "started_at": lease.started_at,
        "expires_at": lease.expires_at,
        "deletes_at": lease.expires_at + terms.grace,
        "renewals": lease.renewals,
        "warned": lease.warned_at is not None,
        "shelved": lease.shelved_at is not None,
        "idle_since": lease.idle_since,
    }


@router.get("/leases", response_model=Page[LeaseRead], responses=problems(401, 403))
def list_leases(caller: Caller, services: Services, page: Paged) -> Page[LeaseRead]:
    """The caller's free instances and when each lease ends."""
    terms = _terms(services)
    found = community.leases_of(db=services.db, project_id=caller.tenant_id)
    return page.window([LeaseRead(**_lease(lease, terms)) for lease in found])


@router.get("/leases/{server_id}", response_model=LeaseRead, responses=problems(401, 403, 404))
def show_lease(server_id: Id, caller: Caller, services: Services) -> LeaseRead:
    lease = community.get_lease(db=services.db, project_id=caller.tenant_id, server_id=server_id)
    return LeaseRead(**_lease(lease, _terms(services)))


@router.post(
    "/leases/{server_id}/renew", response_model=LeaseRead, responses=problems(401, 403, 404, 409)
)
def renew_lease(server_id: Id, caller: Caller, services: Services) -> LeaseRead:
    """A full lease from now (never more); a shelved instance is unshelved. 409 once deleted."""
    terms = _terms(services)
    lease = community.renew(
        db=services.db,
        clock=services.clock,
        drivers=services.drivers(),
        terms=terms,
        project_id=caller.tenant_id,
        server_id=server_id,
    )
    return LeaseRead(**_lease(lease, terms))


@admin_router.get("/flags", response_model=Page[FlagRead], responses=problems(401, 403))
def flags(_admin: Admin, services: Services, page: Paged) -> Page[FlagRead]:
    """Free instances flagged idle or possibly mining (a heuristic: nothing is done on it)."""
    terms = _terms(services)
    found = community.flagged(db=services.db)
    return page.window(
        [
            FlagRead(
                **_lease(lease, terms),
                tenant_id=lease.project_id,
                mining_since=lease.mining_since,
                mining_cpu=lease.mining_cpu,
            )
            for lease in found
        ]
    )


@admin_router.post(
    "/tenants/{tenant_id}/suspend",
    response_model=SuspensionRead,
    responses=problems(401, 403, 404, 409, 422),
)
def suspend(tenant_id: Id, body: Suspension, admin: Admin, services: Services) -> SuspensionRead:
    """The kill switch: the tenant is disabled and its running instances stopped; audited."""
    stopped = community.suspend_tenant(
        db=services.db,
        clock=services.clock,
        drivers=services.drivers(),
        tenant_id=tenant_id,
        actor=_actor(admin),
        reason=body.reason,
        operator_tenant=services.settings.operator_tenant,
    )
    return SuspensionRead(tenant_id=tenant_id, enabled=False, stopped=stopped)


@admin_router.post(
    "/tenants/{tenant_id}/resume",
    response_model=SuspensionRead,
    responses=problems(401, 403, 404, 409),
)
def resume(tenant_id: Id, admin: Admin, services: Services) -> SuspensionRead:
    """The tenant may log in again; its instances stay stopped until it starts them."""
    community.resume_tenant(
        db=services.db,
        clock=services.clock,
        tenant_id=tenant_id,
        actor=_actor(admin),
        operator_tenant=services.settings.operator_tenant,
    )
    return SuspensionRead(tenant_id=tenant_id, enabled=True, stopped=0)


def _actor(admin: Principal) -> community.Actor:
    return community.Actor(admin.user_id, admin.user_name)
