"""Admin pages for tenants and users: create, enable or disable, reset a password; every
change is written to the audit log with its outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Response

from sws.audit import service as audit
from sws.audit.model import AuditRecord, Outcome
from sws.errors import SWSError
from sws.identity import service as identity
from sws.web.console import pages
from sws.web.console.context import Admin, AdminPost, Session
from sws.web.console.render import page, redirect
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/admin", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
Secret = Annotated[str, Form(max_length=1024)]
Filter = Annotated[str, Query(max_length=64)]
ALL = 1000
CURRENCIES = ("CNY", "USD", "EUR", "GBP", "JPY", "HKD", "SGD")


def _audited(
    s: Session, back: str, done: str, action: str, target: tuple[str, str], detail: str,
    work: Callable[[], object],
) -> Response:
    """Run an admin change, record it (refusals too) and go back with its outcome."""
    outcome: Outcome = "ok"
    message, target_id = ("ok", done), target[1]
    try:
        result = work()
        target_id = str(getattr(result, "id", target_id))
    except SWSError as error:
        outcome, message = "refused", ("error", error.detail)
        detail = f"{detail} refused: {error.detail}".strip()
    audit.record(db=s.container.db, clock=s.container.clock, entry=AuditRecord(
        actor_user_id=s.principal.user_id, actor_name=s.principal.user_name, action=action,
        target_type=target[0], target_id=target_id, detail=detail, outcome=outcome,
        remote_addr=s.client_ip,
    ))
    return redirect(s, back, [message])


@router.get("/tenants")
def tenants(s: Admin, name: Filter = "") -> Response:
    found = identity.list_tenants(db=s.container.db, limit=ALL, marker=None)
    found = pages.matching(found, name, lambda t: t.name)
    return page(s, "admin/tenants.html", tenants=found, name=name, currencies=CURRENCIES)


@router.post("/tenants")
def create_tenant(
    s: AdminPost, name: Text = "", billing_timezone: Text = "UTC", currency: Text = "CNY"
) -> Response:
    done = s.gettext("Tenant %(name)s created.", name=name)
    detail = f"name={name} timezone={billing_timezone} currency={currency}"
    return _audited(s, "/admin/tenants", done, "tenant.create", ("tenant", name), detail,
                    lambda: identity.create_tenant(
                        db=s.container.db, clock=s.container.clock, name=name.strip(),
                        billing_timezone=billing_timezone.strip(), currency=currency.strip()))


@router.post("/tenants/{tenant_id}/enabled")
def set_tenant_enabled(s: AdminPost, tenant_id: str, enabled: Text = "") -> Response:
    on = enabled == "true"
    done = s.gettext("Tenant enabled.") if on else s.gettext("Tenant disabled.")
    changes = identity.TenantChanges(enabled=on)
    return _audited(s, "/admin/tenants", done, "tenant.enable" if on else "tenant.disable",
                    ("tenant", tenant_id), "",
                    lambda: identity.update_tenant(
                        db=s.container.db, tenant_id=tenant_id, changes=changes,
                        operator_tenant=s.container.settings.operator_tenant))


@router.get("/users")
def users(s: Admin, name: Filter = "", tenant_id: Filter = "") -> Response:
    found = identity.list_users(db=s.container.db, tenant_id=tenant_id or None, limit=ALL,
                                marker=None)
    found = pages.matching(found, name, lambda u: u.name)
    tenants = identity.list_tenants(db=s.container.db, limit=ALL, marker=None)
    return page(s, "admin/users.html", users=found, name=name, tenant_id=tenant_id,
                tenants=tenants, tenant_names={t.id: t.name for t in tenants})


@router.post("/users")
def create_user(
    s: AdminPost, tenant_id: Text = "", name: Text = "", password: Secret = "",
    role: Text = "member",
) -> Response:
    done = s.gettext("User %(name)s created.", name=name)
    return _audited(s, "/admin/users", done, "user.create", ("user", name),
                    f"name={name} tenant={tenant_id} role={role}",
                    lambda: identity.create_user(
                        db=s.container.db, clock=s.container.clock, tenant_id=tenant_id,
                        name=name.strip(), password=password, role=role,
                        operator_tenant=s.container.settings.operator_tenant))


@router.post("/users/{user_id}/enabled")
def set_user_enabled(s: AdminPost, user_id: str, enabled: Text = "") -> Response:
    on = enabled == "true"
    done = s.gettext("User enabled.") if on else s.gettext("User disabled.")
    return _audited(s, "/admin/users", done, "user.enable" if on else "user.disable",
                    ("user", user_id), "",
                    lambda: identity.set_user_enabled(
                        db=s.container.db, clock=s.container.clock, user_id=user_id,
                        enabled=on, operator_tenant=s.container.settings.operator_tenant))


@router.post("/users/{user_id}/password")
def reset_password(s: AdminPost, user_id: str, password: Secret = "") -> Response:
    done = s.gettext("Password reset; the user's sessions were ended.")
    return _audited(s, "/admin/users", done, "user.reset_password", ("user", user_id), "",
                    lambda: identity.reset_password(
                        db=s.container.db, clock=s.container.clock, user_id=user_id,
                        password=password))
