"""Tenant pages for images, snapshots, security groups, key pairs and floating IPs."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Response

from sws.drivers.base import KeyPair, SecurityGroupRuleCreate
from sws.errors import SWSError
from sws.web.console import pages
from sws.web.console.context import Tenant, TenantPost
from sws.web.console.i18n import N_
from sws.web.console.render import attempt, page, redirect
from sws.web.console.routing import ConsoleRoute
from sws.web.console.views import volumes

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
LongText = Annotated[str, Form(max_length=16384)]
Filter = Annotated[str, Query(max_length=64)]


# ---- images and snapshots ---------------------------------------------------------------------

@router.get("/images")
def images(s: Tenant, name: Filter = "", status: Filter = "") -> Response:
    found = [i for i in s.driver.list_images(s.tenant_id) if i.image_type != "snapshot"]
    found = pages.matching(found, name, lambda i: i.name)
    found = pages.matching(found, status, lambda i: i.status)
    return page(s, "images.html", images=found, name=name, status=status)


@router.get("/snapshots")
def snapshots(s: Tenant, name: Filter = "", status: Filter = "") -> Response:
    found = [i for i in s.driver.list_images(s.tenant_id) if i.image_type == "snapshot"]
    found = pages.matching(found, name, lambda i: i.name)
    found = pages.matching(found, status, lambda i: i.status)
    servers = pages.live_briefs(s)  # a deleted instance's snapshot says so
    return page(s, "snapshots.html", images=found, name=name, status=status,
                names=pages.names_by_id(servers),
                volume_snapshots=volumes.volume_snapshots(s))


@router.post("/snapshots/{image_id}/delete")
def delete_snapshot(s: TenantPost, image_id: str) -> Response:
    done = s.gettext("Snapshot deleted.")
    return attempt(s, "/console/snapshots", done,
                   lambda: s.driver.delete_image(s.tenant_id, image_id))


# ---- security groups -------------------------------------------------------------------------

@router.get("/security-groups")
def security_groups(s: Tenant, name: Filter = "", group: Filter = "") -> Response:
    """Each group is a collapsed `<details>`: its name, description and rule count; `group`
    (a group id, set by the redirect after a change to it) or a filter that leaves at most
    three groups shows them expanded."""
    groups = pages.matching(s.driver.list_security_groups(s.tenant_id), name, lambda g: g.name)
    expanded = {g.id for g in groups} if len(groups) <= 3 and (name or len(groups) == 1) else set()
    expanded |= {group} if group else set()
    return page(s, "security_groups.html", groups=groups, name=name, expanded=expanded,
                directions=DIRECTIONS)


DIRECTIONS = {"ingress": N_("ingress (in)"), "egress": N_("egress (out)")}


def _group_page(group_id: str) -> str:
    """The list with `group_id` expanded and scrolled to (its flash follows it there)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "", group_id)[:64]
    return f"/console/security-groups?group={safe}#group-{safe}"


@router.post("/security-groups")
def create_security_group(s: TenantPost, name: Text = "", description: Text = "") -> Response:
    done = s.gettext("Security group %(name)s created.", name=name)
    try:
        group = s.driver.create_security_group(s.tenant_id, name, description)
    except SWSError as error:
        return redirect(s, "/console/security-groups", [("error", error.detail)])
    return redirect(s, _group_page(group.id), [("ok", done)])


@router.post("/security-groups/{group_id}/delete")
def delete_security_group(s: TenantPost, group_id: str) -> Response:
    done = s.gettext("Security group deleted.")
    return attempt(s, "/console/security-groups", done,
                   lambda: s.driver.delete_security_group(s.tenant_id, group_id))


@router.post("/security-groups/{group_id}/rules")
def add_rule(
    s: TenantPost, group_id: str, direction: Text = "ingress", protocol: Text = "",
    port_min: Text = "", port_max: Text = "", cidr: Text = "",
) -> Response:
    def work() -> object:
        rule = SecurityGroupRuleCreate(
            direction=direction, protocol=protocol or None,
            port_range_min=_port(port_min, "port_range_min"),
            port_range_max=_port(port_max or port_min, "port_range_max"),
            remote_ip_prefix=cidr.strip() or None,
        )
        return s.driver.add_security_group_rule(s.tenant_id, group_id, rule)

    return attempt(s, _group_page(group_id), s.gettext("Rule added."), work)


def _port(value: str, field: str) -> int | None:
    if not value.strip():
        return None
    return pages.whole_number(value, field=field, low=0, high=65535)


@router.post("/security-group-rules/{rule_id}/delete")
def delete_rule(s: TenantPost, rule_id: str, group_id: Text = "") -> Response:
    back = _group_page(group_id) if group_id else "/console/security-groups"
    return attempt(s, back, s.gettext("Rule deleted."),
                   lambda: s.driver.delete_security_group_rule(s.tenant_id, rule_id))


# ---- key pairs -------------------------------------------------------------------------------

@router.get("/key-pairs")
def key_pairs(s: Tenant, name: Filter = "") -> Response:
    pairs = pages.matching(s.driver.list_keypairs(s.tenant_id), name, lambda k: k.name)
    return page(s, "key_pairs.html", pairs=pairs, name=name, created=None, error=None)


@router.post("/key-pairs")
def create_key_pair(s: TenantPost, name: Text = "", public_key: LongText = "") -> Response:
    """A generated pair's private key is shown on this response only, never stored by SWS."""
    try:
        created = s.driver.create_keypair(s.tenant_id, name.strip(), public_key.strip() or None)
    except SWSError as error:
        pairs = s.driver.list_keypairs(s.tenant_id)
        return page(s, "key_pairs.html", code=error.status, pairs=pairs, name="",
                    created=None, error=error)
    pairs = s.driver.list_keypairs(s.tenant_id)
    return page(s, "key_pairs.html", pairs=pairs, name="", created=created, error=None,
                download=private_key_download(created))


@dataclass(frozen=True, slots=True)
class KeyDownload:
    """A generated private key as a `data:` URL in the page itself: the browser saves it as
    `<name>.pem`; SWS keeps nothing, so the link lives as long as this one response."""

    url: str
    filename: str


def private_key_download(created: KeyPair) -> KeyDownload | None:
    if not created.private_key:
        return None
    encoded = base64.b64encode(created.private_key.encode()).decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", created.name).strip("._") or "key"
    return KeyDownload(f"data:application/x-pem-file;base64,{encoded}", f"{stem[:100]}.pem")


@router.post("/key-pairs/{name}/delete")
def delete_key_pair(s: TenantPost, name: str) -> Response:
    return attempt(s, "/console/key-pairs", s.gettext("Key pair %(name)s deleted.", name=name),
                   lambda: s.driver.delete_keypair(s.tenant_id, name))


# ---- floating IPs ----------------------------------------------------------------------------

@router.get("/floating-ips")
def floating_ips(s: Tenant, address: Filter = "", status: Filter = "") -> Response:
    found = pages.matching(s.driver.list_floating_ips(s.tenant_id), address, lambda f: f.address)
    found = pages.matching(found, status, lambda f: f.status)
    servers = pages.live_briefs(s)
    return page(s, "floating_ips.html", ips=found, address=address, status=status,
                servers=servers, names=pages.names_by_id(servers))


@router.post("/floating-ips")
def allocate_floating_ip(s: TenantPost) -> Response:
    return attempt(s, "/console/floating-ips", s.gettext("Floating IP allocated."),
                   lambda: s.driver.allocate_floating_ip(s.tenant_id))


@router.post("/floating-ips/{fip_id}/associate")
def associate_floating_ip(s: TenantPost, fip_id: str, server_id: Text = "") -> Response:
    return attempt(s, "/console/floating-ips", s.gettext("Floating IP associated."),
                   lambda: s.driver.associate_floating_ip(s.tenant_id, fip_id, server_id))


@router.post("/floating-ips/{fip_id}/disassociate")
def disassociate_floating_ip(s: TenantPost, fip_id: str) -> Response:
    return attempt(s, "/console/floating-ips", s.gettext("Floating IP disassociated."),
                   lambda: s.driver.disassociate_floating_ip(s.tenant_id, fip_id))


@router.post("/floating-ips/{fip_id}/release")
def release_floating_ip(s: TenantPost, fip_id: str) -> Response:
    return attempt(s, "/console/floating-ips", s.gettext("Floating IP released."),
                   lambda: s.driver.release_floating_ip(s.tenant_id, fip_id))
