"""The Users page of the tenant console: the tenant's users and invitations; the owner adds
members, invites people by mail with a role, changes roles, disables, enables and removes
users, and revokes invitations. The invitee accepts at /console/invitations/accept (with its
existing account's password, if the address has one). A user in several tenants switches
between them in the header (/console/tenant). The same use cases as /v1/users,
/v1/invitations and /v1/account/tenant (audited there)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Response

from sws.errors import SWSError
from sws.identity import members, team_tenants
from sws.identity import service as identity
from sws.identity.invitations import Acceptance, InvitationRequest
from sws.identity.roles import TENANT_ROLES
from sws.identity.team_keystone import team_directory
from sws.web.api.members import team
from sws.web.console.context import AnyVisit, PostedVisit, Session, Tenant, TenantPost
from sws.web.console.i18n import N_
from sws.web.console.render import attempt, page, redirect
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console/users", route_class=ConsoleRoute, include_in_schema=False)
accept_router = APIRouter(
    prefix="/console/invitations", route_class=ConsoleRoute, include_in_schema=False
)
tenant_router = APIRouter(prefix="/console/tenant", route_class=ConsoleRoute,
                          include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
Secret = Annotated[str, Form(max_length=1024)]
Code = Annotated[str, Query(max_length=256)]
ALL = 1000
ROLE_NAMES = {
    "owner": N_("owner"), "member": N_("member"), "billing": N_("billing"),
    "viewer": N_("viewer"), "admin": N_("admin"),
}


@router.get("")
def users(s: Tenant) -> Response:
    found = identity.list_users(db=s.container.db, tenant_id=s.tenant_id, limit=ALL, marker=None)
    invitations = team(s.container).list(caller=s.principal, limit=ALL, marker=None)
    return page(s, "members.html", users=found, manages=s.principal.manages_users,
                invitations=invitations, now=s.container.clock.now(), roles=TENANT_ROLES,
                role_names=ROLE_NAMES)


def _changed(s: Session, done: str, work: Callable[[], object]) -> Response:
    return attempt(s, "/console/users", done, work, reason=lambda e: s.gettext(e.detail))


@router.post("")
def add(s: TenantPost, name: Text = "", password: Secret = "", role: Text = "member") -> Response:
    spec = members.NewMember(name=name.strip(), password=password, role=role)
    return _changed(s, s.gettext("Member %(name)s added.", name=spec.name), lambda: (
        members.add_member(db=s.container.db, clock=s.container.clock, caller=s.principal,
                           member=spec, directory=team_directory(s.container.settings))))


@router.post("/{user_id}/enabled")
def set_enabled(s: TenantPost, user_id: str, enabled: Text = "") -> Response:
    change = members.MemberChange(enabled=enabled == "true")
    done = s.gettext("Member enabled.") if change.enabled else s.gettext("Member disabled.")
    return _changed(s, done, lambda: _change(s, user_id, change))


@router.post("/{user_id}/role")
def set_role(s: TenantPost, user_id: str, role: Text = "") -> Response:
    change = members.MemberChange(role=role)
    return _changed(s, s.gettext("Role changed."), lambda: _change(s, user_id, change))


@router.post("/{user_id}/remove")
def remove(s: TenantPost, user_id: str) -> Response:
    return _changed(s, s.gettext("User removed."), lambda: members.remove_member(
        db=s.container.db, clock=s.container.clock, caller=s.principal, user_id=user_id,
        directory=team_directory(s.container.settings)))


def _change(s: Session, user_id: str, change: members.MemberChange) -> object:
    return members.change_member(db=s.container.db, clock=s.container.clock,
                                 caller=s.principal, user_id=user_id, change=change,
                                 directory=team_directory(s.container.settings))


@router.post("/invitations")
def invite(s: TenantPost, email: Text = "", role: Text = "member") -> Response:
    request = InvitationRequest(email=email, role=role, language=s.locale)
    done = s.gettext("Invitation sent to %(email)s.", email=email.strip())
    return _changed(s, done, lambda: team(s.container).invite(caller=s.principal,
                                                              request=request))


@router.post("/invitations/{invitation_id}/revoke")
def revoke(s: TenantPost, invitation_id: str) -> Response:
    return _changed(s, s.gettext("Invitation revoked."), lambda: team(s.container).revoke(
        caller=s.principal, invitation_id=invitation_id))


@accept_router.get("/accept")
def accept_form(current: AnyVisit, token: Code = "") -> Response:
    return page(current, "invitation_accept.html", token=token, error=None)


@accept_router.post("/accept")
def accept(
    current: PostedVisit, token: Secret = "", name: Text = "", password: Secret = ""
) -> Response:
    acceptance = Acceptance(token=token, password=password, name=name.strip() or None)
    try:
        joined = team(current.container).accept(acceptance=acceptance)
    except SWSError as error:
        return page(current, "invitation_accept.html", code=error.status, token=token,
                    error=current.gettext(error.detail))
    done = current.gettext("Welcome! Log in as %(name)s.", name=joined.user_name)
    return redirect(current, "/console/login", [("ok", done)])


@tenant_router.post("")
def switch_tenant(s: TenantPost, tenant_id: Text = "") -> Response:
    """The header's tenant switcher: this session acts in another of the user's tenants."""
    return attempt(s, "/console/", s.gettext("Switched tenant."), lambda: team_tenants.switch(
        db=s.container.db, caller=s.principal, tenant_id=tenant_id))
