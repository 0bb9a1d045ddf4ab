"""Quota request pages (扩容申请): the tenant's "Request more quota" page (its requests and
their state, a form for a preset size or per-resource limits) and the admin's queue with
approve or deny and a note. The same use cases as /v1/quota-requests (audited there)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response

from sws.quotas.model import RESOURCES, Sizes
from sws.quotas.service import Decision, QuotaAsk
from sws.web.api.quotas import quota_requests
from sws.web.console import pages
from sws.web.console.context import Admin, AdminPost, Session, Tenant, TenantPost
from sws.web.console.i18n import N_
from sws.web.console.render import attempt, page
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console/quota-requests", route_class=ConsoleRoute,
                   include_in_schema=False)
admin_router = APIRouter(prefix="/admin/quota-requests", route_class=ConsoleRoute,
                         include_in_schema=False)
Text = Annotated[str, Form(max_length=1000)]
Count = Annotated[str, Form(max_length=12)]
ALL = 1000
RESOURCE_NAMES = {
    "instances": N_("Instances"), "cores": N_("vCPUs"), "ram_mb": N_("RAM (MB)"),
    "floating_ips": N_("Floating IPs"), "security_groups": N_("Security groups"),
    "key_pairs": N_("Key pairs"),
}
STATE_NAMES = {"pending": N_("pending"), "approved": N_("approved"), "denied": N_("denied")}


def _sizes(s: Session) -> Sizes:
    return Sizes.from_mapping(s.container.settings.quota_sizes)


@router.get("")
def requests(s: Tenant) -> Response:
    found = quota_requests(s.container).list(tenant_id=s.tenant_id, state=None, limit=ALL,
                                             marker=None)
    current = s.driver.quota_usage(s.tenant_id).limits
    return page(s, "quotas/requests.html", requests=sorted(found, key=lambda r: r.created_at,
                                                             reverse=True),
                sizes=_sizes(s).presets, current=current, resources=RESOURCES,
                resource_names=RESOURCE_NAMES, state_names=STATE_NAMES)


@router.post("")
def ask(
    s: TenantPost, reason: Text = "", size: Annotated[str, Form(max_length=16)] = "",
    instances: Count = "", cores: Count = "", ram_mb: Count = "", floating_ips: Count = "",
    security_groups: Count = "", key_pairs: Count = "",
) -> Response:
    typed = {"instances": instances, "cores": cores, "ram_mb": ram_mb,
             "floating_ips": floating_ips, "security_groups": security_groups,
             "key_pairs": key_pairs}
    limits = {name: _count(value) for name, value in typed.items() if value.strip()}
    spec = QuotaAsk(reason=reason, size=size or None, limits=limits or None, language=s.locale)
    done = s.gettext("Your request was sent. Its state shows below.")
    return attempt(s, "/console/quota-requests", done, lambda: quota_requests(s.container).ask(
        caller=s.principal, region=s.region, ask=spec), reason=lambda e: s.gettext(e.detail))


def _count(value: str) -> int:
    """A typed number; anything else becomes -1, which the domain refuses by name."""
    text = value.strip()
    return int(text) if text.isdigit() else -1


@admin_router.get("")
def queue(s: Admin) -> Response:
    found = quota_requests(s.container).list(tenant_id=None, state="pending", limit=ALL,
                                             marker=None)
    return page(s, "quotas/queue.html", requests=found, resources=RESOURCES,
                resource_names=RESOURCE_NAMES, names=pages.tenant_names(s))


@admin_router.post("/{request_id}/approve")
def approve(s: AdminPost, request_id: str, note: Text = "") -> Response:
    return _decide(s, request_id, Decision(approve=True, note=note),
                   s.gettext("Approved: the new quota is in force."))


@admin_router.post("/{request_id}/deny")
def deny(s: AdminPost, request_id: str, note: Text = "") -> Response:
    return _decide(s, request_id, Decision(approve=False, note=note), s.gettext("Denied."))


def _decide(s: Session, request_id: str, decision: Decision, done: str) -> Response:
    return attempt(s, "/admin/quota-requests", done, lambda: quota_requests(s.container).decide(
        admin=s.principal, request_id=request_id, decision=decision),
        reason=lambda e: s.gettext(e.detail))
