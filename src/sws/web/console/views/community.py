"""StackLab console pages: the tenant's "Free tier" (the month's GB-hours, each free
instance's lease with a Renew button) and the admin's "Community" page (instances flagged
idle or possibly mining, with the kill switch: suspend or resume a tenant). The same use
cases as /v1/community and /v1/admin/community."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Response

from sws.community import service as community
from sws.community import usage
from sws.community.model import Terms
from sws.web.console import pages
from sws.web.console.context import Admin, AdminPost, Session, Tenant, TenantPost
from sws.web.console.render import attempt, page
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console/community", route_class=ConsoleRoute, include_in_schema=False)
admin_router = APIRouter(
    prefix="/admin/community", route_class=ConsoleRoute, include_in_schema=False
)
Reason = Annotated[str, Form(max_length=500)]


def _terms(s: Session) -> Terms:
    runtime = s.container.community
    return runtime.terms if runtime is not None else Terms()


def month_gb_hours(s: Session) -> tuple[str, Decimal]:
    """This month and the tenant's GB-hours in it (the seed's "Month's GB-Hours")."""
    month = usage.month_of(s.container.clock.now())
    ram = {f.name: f.ram_mb for f in s.driver.list_flavors()}
    return month, usage.gb_hours(db=s.container.db, tenant_id=s.tenant_id, month=month, ram_mb=ram)


def overview_summary(s: Session) -> dict[str, object] | None:
    """The overview's GB-hours card, in a free region only."""
    if not _terms(s).is_free(s.region):
        return None
    month, gb_hours = month_gb_hours(s)
    return {"month": month, "gb_hours": gb_hours}


@router.get("")
def free_tier(s: Tenant) -> Response:
    terms = _terms(s)
    month, gb_hours = month_gb_hours(s)
    return page(
        s,
        "community/free_tier.html",
        terms=terms,
        month=month,
        gb_hours=gb_hours,
        leases=community.leases_of(db=s.container.db, project_id=s.tenant_id),
        free=terms.is_free(s.region),
    )


@router.post("/leases/{server_id}/renew")
def renew(s: TenantPost, server_id: str) -> Response:
    done = s.gettext("Lease renewed.")
    return attempt(
        s,
        "/console/community",
        done,
        lambda: community.renew(
            db=s.container.db,
            clock=s.container.clock,
            drivers=s.container.drivers(),
            terms=_terms(s),
            project_id=s.tenant_id,
            server_id=server_id[:64],
        ),
    )


@admin_router.get("")
def flags(s: Admin) -> Response:
    return page(
        s,
        "community/flags.html",
        flags=community.flagged(db=s.container.db),
        names=pages.tenant_names(s),
        terms=_terms(s),
    )


@admin_router.post("/tenants/{tenant_id}/suspend")
def suspend(s: AdminPost, tenant_id: str, reason: Reason = "") -> Response:
    done = s.gettext("Tenant suspended: it cannot log in and its instances were stopped.")
    return attempt(
        s,
        "/admin/community",
        done,
        lambda: community.suspend_tenant(
            db=s.container.db,
            clock=s.container.clock,
            drivers=s.container.drivers(),
            tenant_id=tenant_id[:64],
            actor=community.Actor(s.principal.user_id, s.principal.user_name),
            reason=reason or "suspended in the admin console",
            operator_tenant=s.container.settings.operator_tenant,
        ),
    )


@admin_router.post("/tenants/{tenant_id}/resume")
def resume(s: AdminPost, tenant_id: str) -> Response:
    done = s.gettext("Tenant resumed: it may log in; its instances stay stopped.")
    return attempt(
        s,
        "/admin/community",
        done,
        lambda: community.resume_tenant(
            db=s.container.db,
            clock=s.container.clock,
            tenant_id=tenant_id[:64],
            actor=community.Actor(s.principal.user_id, s.principal.user_name),
            operator_tenant=s.container.settings.operator_tenant,
        ),
    )
