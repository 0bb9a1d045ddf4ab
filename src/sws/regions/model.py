"""Sponsor region values and their rules: a sponsor, a region's profile, its health, and one
tenant's view of a region in the "All regions" page."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from sws.drivers.base import QuotaUsage, Server
from sws.errors import Invalid

DriverKind = Literal["simulated", "openstack"]
DRIVER_KINDS: tuple[DriverKind, ...] = ("simulated", "openstack")
RegionState = Literal["ok", "unreachable"]
REGION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{1,63}$")
LOGO_TEXT_LENGTH = 32


@dataclass(frozen=True, slots=True)
class Sponsor:
    """Who runs a region in their own data center, as StackLab's sponsors did."""

    name: str
    logo_text: str
    contact: str


@dataclass(frozen=True, slots=True)
class SponsorRegion:
    """A region as tenants and the operator see it: its sponsor, its cloud, whether it is open.

    `stored` is true when the database holds it (added, or edited in the admin console); a
    stored row wins over the settings, which only seed."""

    name: str
    sponsor: Sponsor | None
    driver: DriverKind
    enabled: bool
    stored: bool
    cloud: str | None = None  # the clouds.yaml entry of an OpenStack region
    catalog_region: str | None = None  # its name in that cloud's catalog


@dataclass(frozen=True, slots=True)
class RegionHealth:
    """Whether SWS reaches a region's cloud now, and when it last heard from it."""

    region: str
    reachable: bool
    problem: str  # why not, or ""
    last_event_at: datetime | None


@dataclass(frozen=True, slots=True)
class RegionServers:
    """One tenant's instances and quota usage in one region, or why the region did not answer."""

    region: SponsorRegion
    state: RegionState
    servers: tuple[Server, ...] = ()
    usage: QuotaUsage | None = None
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Totals:
    """The tenant's footprint over the regions that answered."""

    instances: int
    cores: int
    ram_mb: int
    regions_answered: int
    regions_unreachable: int


def check_region_name(value: str) -> str:
    if not REGION_NAME.match(value):
        raise Invalid(
            "a region name is 2-64 characters: a letter, then letters, digits, '_', '.' or '-'",
            field="name",
        )
    return value


def check_sponsor(*, name: str, logo_text: str, contact: str) -> Sponsor:
    """A sponsor with a name; its logo text defaults to the name's initials."""
    name, contact = name.strip(), contact.strip()
    if not name:
        raise Invalid("a sponsor needs a name", field="sponsor_name")
    logo = logo_text.strip() or initials(name)
    if len(logo) > LOGO_TEXT_LENGTH:
        raise Invalid(f"the logo text has at most {LOGO_TEXT_LENGTH} characters", field="logo_text")
    return Sponsor(name=name, logo_text=logo, contact=contact)


def initials(name: str) -> str:
    """A sponsor's initials ("Open Source Lab": OSL); one word keeps its first two letters."""
    words = [w for w in re.split(r"[\s_.-]+", name) if w]
    if len(words) == 1:
        return words[0][:2].upper()
    return "".join(w[0] for w in words[:4]).upper()


def check_driver(value: str) -> DriverKind:
    for kind in DRIVER_KINDS:
        if value == kind:
            return kind
    raise Invalid(f"driver must be one of {', '.join(DRIVER_KINDS)}", field="driver")


def merge(
    configured: Sequence[SponsorRegion], stored: Mapping[str, SponsorRegion]
) -> list[SponsorRegion]:
    """Every region: the configured ones in their order (a stored row replacing its seed),
    then the regions added at run time, by name."""
    found = [stored.get(region.name, region) for region in configured]
    names = {region.name for region in configured}
    found += sorted((r for n, r in stored.items() if n not in names), key=lambda r: r.name)
    return found


def open_to_tenants(regions: Iterable[SponsorRegion]) -> list[SponsorRegion]:
    """What tenants see at login and in the switcher: the enabled regions."""
    return [region for region in regions if region.enabled]


def shown_to_tenant(views: Iterable[RegionServers]) -> list[RegionServers]:
    """A closed region stays hidden from a tenant, unless the tenant still has instances there."""
    return [view for view in views if view.region.enabled or view.servers]


def with_enabled(region: SponsorRegion, enabled: bool) -> SponsorRegion:
    return replace(region, enabled=enabled, stored=True)


def with_sponsor(region: SponsorRegion, sponsor: Sponsor | None) -> SponsorRegion:
    return replace(region, sponsor=sponsor, stored=True)


def totals(views: Sequence[RegionServers]) -> Totals:
    answered = [v for v in views if v.state == "ok"]
    servers = [s for v in answered for s in v.servers]
    return Totals(
        instances=len(servers),
        cores=sum(v.usage.cores for v in answered if v.usage is not None),
        ram_mb=sum(v.usage.ram_mb for v in answered if v.usage is not None),
        regions_answered=len(answered),
        regions_unreachable=len(views) - len(answered),
    )
