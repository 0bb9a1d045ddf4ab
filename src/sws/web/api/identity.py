"""Tenant-facing identity routes: regions, your tenant and its users; admin tenant and user care."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from sws.errors import NotFound
from sws.identity import service as identity
from sws.identity import two_factor
from sws.identity.model import Tenant, User
from sws.regions import service as sponsor_regions
from sws.web.api.audit import record
from sws.web.api.responses import problems
from sws.web.deps import Admin, Caller, Page, Paged, Services

router = APIRouter(prefix="/v1", tags=["identity"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])
Id = Annotated[str, Path(max_length=64)]


class RegionRead(BaseModel):
    name: str
    description: str


class TenantRead(BaseModel):
    id: str
    name: str
    billing_timezone: str
    currency: str
    enabled: bool
    created_at: datetime


class UserRead(BaseModel):
    id: str
    tenant_id: str
    name: str
    role: str
    enabled: bool
    created_at: datetime


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    billing_timezone: str = Field(default="UTC", max_length=64)
    currency: str = Field(default="CNY", min_length=3, max_length=3)


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    billing_timezone: str | None = Field(default=None, max_length=64)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    enabled: bool | None = None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_id: str = Field(max_length=64)
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    role: str = "member"


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=1024)


def tenant_read(tenant: Tenant) -> TenantRead:
    return TenantRead.model_validate(tenant, from_attributes=True)


def user_read(user: User) -> UserRead:
    return UserRead.model_validate(user, from_attributes=True)


@router.get("/regions", response_model=Page[RegionRead])
def list_regions(caller: Caller, services: Services, page: Paged) -> Page[RegionRead]:
    """The regions open to tenants (the admin sees every one: /v1/admin/regions has more)."""
    open_ = {r.name for r in sponsor_regions.tenant_regions(db=services.db,
                                                           settings=services.settings)}
    regions = [r for r in identity.list_regions(db=services.db)
               if r.name in open_ or caller.is_admin]
    found = (RegionRead(name=r.name, description=r.description) for r in regions)
    return page.window(found, key=lambda r: r.name)


@router.get("/tenants", response_model=Page[TenantRead])
def list_my_tenants(caller: Caller, services: Services, page: Paged) -> Page[TenantRead]:
    tenant = identity.get_tenant(db=services.db, tenant_id=caller.tenant_id)
    return page.window([tenant_read(tenant)])


@router.get("/tenants/{tenant_id}", response_model=TenantRead)
def show_my_tenant(tenant_id: Id, caller: Caller, services: Services) -> TenantRead:
    if tenant_id != caller.tenant_id:
        raise NotFound(f"tenant {tenant_id} not found")
    return tenant_read(identity.get_tenant(db=services.db, tenant_id=tenant_id))


@router.get("/users", response_model=Page[UserRead])
def list_my_users(caller: Caller, services: Services, page: Paged) -> Page[UserRead]:
    users = identity.list_users(
        db=services.db, tenant_id=caller.tenant_id, limit=page.limit, marker=page.marker
    )
    return page.of([user_read(u) for u in users])


@router.get("/users/{user_id}", response_model=UserRead)
def show_my_user(user_id: Id, caller: Caller, services: Services) -> UserRead:
    return user_read(identity.get_user(db=services.db, user_id=user_id, tenant_id=caller.tenant_id))


@admin_router.get("/tenants", response_model=Page[TenantRead])
def admin_list_tenants(_admin: Admin, services: Services, page: Paged) -> Page[TenantRead]:
    tenants = identity.list_tenants(db=services.db, limit=page.limit, marker=page.marker)
    return page.of([tenant_read(t) for t in tenants])


@admin_router.post("/tenants", status_code=201, response_model=TenantRead)
def admin_create_tenant(body: TenantCreate, admin: Admin, services: Services) -> TenantRead:
    tenant = identity.create_tenant(db=services.db, clock=services.clock, **body.model_dump())
    record(services, admin, "tenant.create", tenant.id, f"name={tenant.name}")
    return tenant_read(tenant)


@admin_router.get("/tenants/{tenant_id}", response_model=TenantRead)
def admin_show_tenant(tenant_id: Id, _admin: Admin, services: Services) -> TenantRead:
    return tenant_read(identity.get_tenant(db=services.db, tenant_id=tenant_id))


@admin_router.patch("/tenants/{tenant_id}", response_model=TenantRead)
def admin_update_tenant(
    tenant_id: Id, body: TenantUpdate, admin: Admin, services: Services
) -> TenantRead:
    changes = identity.TenantChanges(**body.model_dump())
    tenant = identity.update_tenant(
        db=services.db, tenant_id=tenant_id, changes=changes,
        operator_tenant=services.settings.operator_tenant,
    )
    record(services, admin, "tenant.update", tenant_id, body.model_dump_json(exclude_none=True))
    return tenant_read(tenant)


@admin_router.get("/users", response_model=Page[UserRead])
def admin_list_users(
    _admin: Admin, services: Services, page: Paged,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[UserRead]:
    users = identity.list_users(
        db=services.db, tenant_id=tenant_id, limit=page.limit, marker=page.marker
    )
    return page.of([user_read(u) for u in users])


@admin_router.post("/users", status_code=201, response_model=UserRead)
def admin_create_user(body: UserCreate, admin: Admin, services: Services) -> UserRead:
    user = identity.create_user(
        db=services.db, clock=services.clock, **body.model_dump(),
        operator_tenant=services.settings.operator_tenant,
    )
    record(services, admin, "user.create", user.id, f"name={user.name} role={user.role}")
    return user_read(user)


@admin_router.get("/users/{user_id}", response_model=UserRead)
def admin_show_user(user_id: Id, _admin: Admin, services: Services) -> UserRead:
    return user_read(identity.get_user(db=services.db, user_id=user_id))


@admin_router.patch("/users/{user_id}", response_model=UserRead)
def admin_update_user(user_id: Id, body: UserUpdate, admin: Admin, services: Services) -> UserRead:
    user = identity.set_user_enabled(
        db=services.db, clock=services.clock, user_id=user_id, enabled=body.enabled,
        operator_tenant=services.settings.operator_tenant,
    )
    record(services, admin, "user.enable" if body.enabled else "user.disable", user_id)
    return user_read(user)


@admin_router.post("/users/{user_id}/password", response_model=UserRead)
def admin_reset_password(
    user_id: Id, body: PasswordReset, admin: Admin, services: Services
) -> UserRead:
    user = identity.reset_password(
        db=services.db, clock=services.clock, user_id=user_id, password=body.password
    )
    record(services, admin, "user.reset_password", user_id)
    return user_read(user)


@admin_router.post(
    "/users/{user_id}/2fa/reset", response_model=UserRead, responses=problems(401, 403, 404)
)
def admin_reset_two_factor(user_id: Id, admin: Admin, services: Services) -> UserRead:
    """Turn off a user's two-factor authentication (lost phone and recovery codes); its
    sessions end. Audited as `two_factor.reset`."""
    two_factor.reset_by_admin(db=services.db, clock=services.clock, admin=admin, user_id=user_id)
    return user_read(identity.get_user(db=services.db, user_id=user_id))
