"""Tenant pages for object storage: containers (counts, sizes, objects) and each container's
storage firewall.

Everything goes through `sws.storagefw.service` on the region's object store, which checks
names, tenancy (another tenant's container is "not found") and firewall rules; object requests
pass the container's firewall with the visitor's address, as the API passes its caller's.
A firewall update is validated whole before anything is written, so an error changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Response, UploadFile

from sws.drivers.base import ObjectStore, RateLimited
from sws.errors import Invalid, SWSError
from sws.storagefw import service as storage
from sws.storagefw.model import MAX_ENTRIES, FirewallRules
from sws.web.console.context import Session, Tenant, TenantPost
from sws.web.console.i18n import N_
from sws.web.console.render import attempt, page, redirect
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=1024)]
Lines = Annotated[str, Form(max_length=20_000)]
MAX_UPLOAD = 10 * 1024 * 1024  # the console is for small objects; the API takes the rest
#: The four limits of the form: (kind, window) → the form field.
LIMITS: dict[tuple[str, int], str] = {
    ("requests", 300): "requests_5m", ("requests", 86400): "requests_24h",
    ("mb", 300): "mb_5m", ("mb", 86400): "mb_24h",
}
FIELD_LABELS = {
    "allow": N_("Whitelist"), "deny": N_("Blacklist"), "exclusive": N_("Exclusive"),
    "requests_5m": N_("Requests per 5 minutes"), "requests_24h": N_("Requests per 24 hours"),
    "mb_5m": N_("Traffic (MB) per 5 minutes"), "mb_24h": N_("Traffic (MB) per 24 hours"),
    "limits": N_("Limits"), "name": N_("Name"), "object": N_("Object"),
}


def _store(s: Session) -> ObjectStore:
    return s.container.object_store(s.region)


def _url(name: str) -> str:
    return quote(name, safe="")


def _back(container: str) -> str:
    return f"/console/containers/{_url(container)}"


def _attempt(s: Session, back: str, done: str, work: Callable[[], object]) -> Response:
    """`attempt`, and a rate-limit refusal also says when to try again."""

    def reason(error: SWSError) -> str:
        return _limited(s, error) if isinstance(error, RateLimited) else error.detail

    return attempt(s, back, done, work, reason)


def _limited(s: Session, error: RateLimited) -> str:
    return s.gettext("%(reason)s Try again in %(seconds)d seconds.", reason=error.detail,
                     seconds=error.retry_after)


# ---- containers ---------------------------------------------------------------------------


@router.get("/containers")
def containers(s: Tenant) -> Response:
    found = storage.list_containers(store=_store(s), project_id=s.tenant_id)
    return page(s, "storage/containers.html", containers=found, url=_url)


@router.post("/containers")
def create_container(s: TenantPost, name: Text = "") -> Response:
    done = s.gettext("Container %(name)s created.", name=name)
    return _attempt(s, "/console/containers", done, lambda: storage.create_container(
        store=_store(s), project_id=s.tenant_id, name=name))


@router.post("/containers/{name}/delete")
def delete_container(s: TenantPost, name: str) -> Response:
    done = s.gettext("Container %(name)s deleted.", name=name)
    return _attempt(s, "/console/containers", done, lambda: storage.delete_container(
        store=_store(s), project_id=s.tenant_id, name=name))


@router.get("/containers/{name}")
def container(s: Tenant, name: str) -> Response:
    store = _store(s)
    info = storage.get_container(store=store, project_id=s.tenant_id, name=name)
    limited = None
    try:
        objects = list(storage.list_objects(store=store, project_id=s.tenant_id, container=name,
                                            client_ip=s.client_ip))
    except RateLimited as error:
        objects, limited = [], _limited(s, error)
    return page(s, "storage/container.html", info=info, objects=objects, limited=limited,
                url=_url, max_upload=MAX_UPLOAD)


@router.post("/containers/{name}/objects")
async def upload_object(
    s: TenantPost, name: str, upload: Annotated[UploadFile | None, File()] = None,
    object_name: Text = "",
) -> Response:
    if upload is None or not upload.filename:
        return redirect(s, _back(name), [("error", s.gettext("Choose a file to upload."))])
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        message = s.gettext("The console uploads objects up to %(mb)d MB; use the API for "
                            "larger ones.", mb=MAX_UPLOAD // (1024 * 1024))
        return redirect(s, _back(name), [("error", message)])
    target = object_name.strip() or upload.filename
    done = s.gettext("Object %(name)s uploaded.", name=target)
    return _attempt(s, _back(name), done, lambda: storage.put_object(
        store=_store(s), project_id=s.tenant_id, container=name, name=target, data=data,
        content_type=(upload.content_type or "")[:255], client_ip=s.client_ip))


@router.get("/containers/{name}/objects/{object_name:path}")
def download_object(s: Tenant, name: str, object_name: str) -> Response:
    try:
        found = storage.get_object(store=_store(s), project_id=s.tenant_id, container=name,
                                   name=object_name, client_ip=s.client_ip)
    except RateLimited as error:
        return redirect(s, _back(name), [("error", _limited(s, error))])
    filename = object_name.rsplit("/", 1)[-1] or "object"
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
    }
    return Response(found.data, media_type="application/octet-stream", headers=headers)


@router.post("/containers/{name}/objects/delete")
def delete_object(s: TenantPost, name: str, object_name: Text = "") -> Response:
    done = s.gettext("Object %(name)s deleted.", name=object_name)
    return _attempt(s, _back(name), done, lambda: storage.delete_object(
        store=_store(s), project_id=s.tenant_id, container=name, name=object_name,
        client_ip=s.client_ip))


# ---- storage firewall ---------------------------------------------------------------------


@router.get("/storage-firewall")
def firewalls(s: Tenant) -> Response:
    found = storage.list_containers(store=_store(s), project_id=s.tenant_id)
    return page(s, "storage/firewalls.html", containers=found, url=_url)


@router.get("/storage-firewall/{name}")
def firewall(s: Tenant, name: str) -> Response:
    store = _store(s)
    storage.get_container(store=store, project_id=s.tenant_id, name=name)  # 404 if not ours
    rules = storage.get_firewall(store=store, project_id=s.tenant_id, container=name)
    return _firewall_page(s, name, _values(rules), None)


def _values(rules: FirewallRules) -> dict[str, Any]:
    amounts: dict[tuple[str, int], int] = {
        (limit.kind, limit.window): limit.amount for limit in rules.limits
    }
    return {
        "allow": "\n".join(rules.allow), "deny": "\n".join(rules.deny),
        "exclusive": rules.exclusive,
        **{field: str(amounts.get(key, "")) for key, field in LIMITS.items()},
    }


def _firewall_page(
    s: Session, name: str, values: Mapping[str, Any], error: SWSError | None
) -> Response:
    field = _form_field(error.field) if error else None
    label = s.gettext(FIELD_LABELS.get(field or "", N_("Firewall")))
    line = _line(error.field) if error else None
    return page(s, "storage/firewall.html", code=error.status if error else 200, name=name,
                values=values, error=error, field=field, label=label, line=line, url=_url,
                max_entries=MAX_ENTRIES)


def _form_field(name: str | None) -> str | None:
    """The form field behind a service field name: `allow[3]` → allow, `limits.mb/300` → mb_5m."""
    if not name:
        return None
    base = name.split("[", 1)[0]
    if base.startswith("limits."):
        kind, _, window = base.removeprefix("limits.").partition("/")
        return LIMITS.get((kind, int(window) if window.isdigit() else 0), "limits")
    return base


def _line(name: str | None) -> int | None:
    """`allow[3]` is the fourth line of the whitelist."""
    if name and name.endswith("]") and "[" in name:
        index = name[name.index("[") + 1:-1]
        return int(index) + 1 if index.isdigit() else None
    return None


@router.post("/storage-firewall/{name}")
def set_firewall(
    s: TenantPost, name: str, allow: Lines = "", deny: Lines = "", exclusive: Text = "",
    requests_5m: Text = "", requests_24h: Text = "", mb_5m: Text = "", mb_24h: Text = "",
) -> Response:
    typed = {"requests_5m": requests_5m, "requests_24h": requests_24h, "mb_5m": mb_5m,
             "mb_24h": mb_24h}
    values = {"allow": allow, "deny": deny, "exclusive": exclusive == "on", **typed}
    store = _store(s)
    try:
        storage.get_container(store=store, project_id=s.tenant_id, name=name)
        rules = storage.firewall_rules(
            allow=_entries(allow), deny=_entries(deny), exclusive=exclusive == "on",
            limits=[{"kind": kind, "window": window, "amount": _amount(typed[field])}
                    for (kind, window), field in LIMITS.items() if typed[field].strip()],
        )
        storage.set_firewall(store=store, project_id=s.tenant_id, container=name, rules=rules)
    except Invalid as error:
        return _firewall_page(s, name, values, error)
    done = s.gettext("Firewall of %(name)s saved.", name=name)
    return redirect(s, f"/console/storage-firewall/{_url(name)}", [("ok", done)])


def _entries(text: str) -> list[str]:
    """One IP or CIDR per line (commas and spaces also separate); blank lines are skipped."""
    return [item for item in text.replace(",", " ").split() if item]


def _amount(text: str) -> int | str:
    """A whole number; anything else goes to the rules as typed, which refuse it by name."""
    value = text.strip()
    return int(value) if value.lstrip("-").isdigit() else value
