"""Sponsor region pages: the tenant's "All regions" view (instances and usage in every region,
an unreachable one shown as such) and the admin's Regions page (health, add a sponsor region,
close or reopen one). The same use cases as /v1/regions/all and /v1/admin/regions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response

from sws.audit import service as audit
from sws.audit.model import AuditRecord
from sws.regions import model
from sws.regions import service as regions
from sws.web.console.context import Admin, AdminPost, Session, Tenant
from sws.web.console.render import attempt, page
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console/regions", route_class=ConsoleRoute, include_in_schema=False)
admin_router = APIRouter(prefix="/admin/regions", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
BACK = "/admin/regions"


@router.get("/all")
def all_regions(s: Tenant) -> Response:
    """Every region the tenant may use, plus any closed one where it still has instances."""
    container = s.container
    found = regions.list_regions(db=container.db, settings=container.settings)
    views = regions.all_regions(
        regions=found,
        driver=container.driver,
        project_id=s.tenant_id,
        timeout=container.settings.region_probe_seconds,
    )
    shown = model.shown_to_tenant(views)
    return page(s, "regions/all.html", views=shown, totals=model.totals(shown))


@admin_router.get("")
def admin_regions(s: Admin) -> Response:
    container = s.container
    found = regions.list_regions(db=container.db, settings=container.settings)
    health = regions.health(
        db=container.db,
        regions=found,
        driver=container.driver,
        timeout=container.settings.region_probe_seconds,
    )
    return page(
        s,
        "admin/regions.html",
        rows=list(zip(found, health, strict=True)),
        kinds=model.DRIVER_KINDS,
    )


@admin_router.post("")
def add_region(
    s: AdminPost,
    name: Text = "",
    driver: Text = "simulated",
    sponsor_name: Text = "",
    logo_text: Text = "",
    contact: Text = "",
    cloud: Text = "",
    catalog_region: Text = "",
) -> Response:
    def add() -> None:
        sponsor = None
        if sponsor_name.strip() or logo_text.strip() or contact.strip():
            sponsor = model.check_sponsor(name=sponsor_name, logo_text=logo_text, contact=contact)
        region = regions.add_region(
            db=s.container.db,
            clock=s.container.clock,
            settings=s.container.settings,
            name=name.strip(),
            driver=model.check_driver(driver),
            sponsor=sponsor,
            cloud=cloud.strip() or None,
            catalog_region=catalog_region.strip() or None,
        )
        _audit(s, "region.create", region.name, f"driver={region.driver}")

    done = s.gettext("Region %(name)s added.", name=name.strip())
    return attempt(s, BACK, done, add, reason=lambda e: s.gettext(e.detail))


@admin_router.post("/{name}/enabled")
def set_enabled(
    s: AdminPost, name: str, enabled: Annotated[str, Form(max_length=5)] = ""
) -> Response:
    opening = enabled == "true"

    def switch() -> None:
        regions.set_enabled(
            db=s.container.db,
            clock=s.container.clock,
            settings=s.container.settings,
            name=name,
            enabled=opening,
        )
        _audit(s, "region.update", name, f'{{"enabled": {str(opening).lower()}}}')

    done = (
        s.gettext("Region %(name)s is open to tenants.", name=name)
        if opening
        else s.gettext(
            "Region %(name)s is closed: hidden from tenants, no new instances.", name=name
        )
    )
    return attempt(s, BACK, done, switch, reason=lambda e: s.gettext(e.detail))


def _audit(s: Session, action: str, target: str, detail: str) -> None:
    entry = AuditRecord(
        actor_user_id=s.principal.user_id,
        actor_name=s.principal.user_name,
        action=action,
        target_type="region",
        target_id=target,
        detail=detail,
        source="console",
    )
    audit.record(db=s.container.db, clock=s.container.clock, entry=entry)
