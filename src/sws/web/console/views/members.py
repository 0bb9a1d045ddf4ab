"""The owner's Users page in the tenant console: the tenant's users, add a member, disable or
enable one. The same use cases as POST /v1/users and PATCH /v1/users/{id} (audited there)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response

from sws.identity import members
from sws.identity import service as identity
from sws.web.console.context import Tenant, TenantPost
from sws.web.console.render import attempt, page
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console/users", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
Secret = Annotated[str, Form(max_length=1024)]
ALL = 1000


@router.get("")
def users(s: Tenant) -> Response:
    found = identity.list_users(db=s.container.db, tenant_id=s.tenant_id, limit=ALL, marker=None)
    return page(s, "members.html", users=found, manages=s.principal.manages_users)


@router.post("")
def add(s: TenantPost, name: Text = "", password: Secret = "") -> Response:
    spec = members.NewMember(name=name.strip(), password=password)
    done = s.gettext("Member %(name)s added.", name=spec.name)
    return attempt(
        s,
        "/console/users",
        done,
        lambda: members.add_member(
            db=s.container.db, clock=s.container.clock, caller=s.principal, member=spec
        ),
        reason=lambda e: s.gettext(e.detail),
    )


@router.post("/{user_id}/enabled")
def set_enabled(s: TenantPost, user_id: str, enabled: Text = "") -> Response:
    on = enabled == "true"
    done = s.gettext("Member enabled.") if on else s.gettext("Member disabled.")
    return attempt(
        s,
        "/console/users",
        done,
        lambda: members.set_member_enabled(
            db=s.container.db,
            clock=s.container.clock,
            caller=s.principal,
            user_id=user_id,
            enabled=on,
        ),
        reason=lambda e: s.gettext(e.detail),
    )
