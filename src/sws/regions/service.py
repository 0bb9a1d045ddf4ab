"""Sponsor region use cases: the regions tenants may pick, the admin's additions and switches,
each region's health, and one tenant's instances across every region.

The settings (`SWS_REGIONS`, `SWS_REGION_SPONSORS`, `SWS_REGION_DRIVERS`) seed the regions; a
region added in the admin console, or a configured one the admin edited, is a database row,
and the row wins (docs/community.md#sponsor-regions).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from sws.clock import Clock
from sws.config import RegionDriverConfig, Settings
from sws.db.engine import Database
from sws.drivers.base import CloudDriver, QuotaUsage, Server, ServerFilter
from sws.errors import Conflict, Duplicate, NotFound, SWSError
from sws.identity import service as identity
from sws.regions import repository as repo
from sws.regions.model import (
    DriverKind,
    RegionHealth,
    RegionServers,
    Sponsor,
    SponsorRegion,
    check_region_name,
    check_sponsor,
    merge,
    open_to_tenants,
    with_enabled,
    with_sponsor,
)

SERVERS_PER_REGION = 500  # the "All regions" page lists at most this many per region
T = TypeVar("T")


def driver_config(settings: Settings, name: str) -> RegionDriverConfig:
    """A configured region's cloud: its `SWS_REGION_DRIVERS` entry, else `SWS_DRIVER`."""
    return settings.region_drivers.get(name) or RegionDriverConfig(driver=settings.driver)


def region_cloud(region: SponsorRegion) -> RegionDriverConfig:
    return RegionDriverConfig(
        driver=region.driver, cloud=region.cloud, catalog_region=region.catalog_region
    )


def _seed(settings: Settings, name: str) -> SponsorRegion:
    found = settings.region_sponsors.get(name)
    sponsor = None
    if found is not None:
        sponsor = check_sponsor(name=found.name, logo_text=found.logo_text, contact=found.contact)
    cloud = driver_config(settings, name)
    return SponsorRegion(
        name=name,
        sponsor=sponsor,
        driver=cloud.driver,
        enabled=True,
        stored=False,
        cloud=cloud.cloud,
        catalog_region=cloud.catalog_region,
    )


def configured(settings: Settings) -> list[SponsorRegion]:
    return [_seed(settings, name) for name in settings.regions]


def list_regions(*, db: Database, settings: Settings) -> list[SponsorRegion]:
    """Every region, enabled or not: the configured ones first, then those added later."""
    with db.read() as conn:
        return merge(configured(settings), repo.stored(conn))


def tenant_regions(*, db: Database, settings: Settings) -> list[SponsorRegion]:
    """The regions a tenant may pick at login and in the switcher."""
    return open_to_tenants(list_regions(db=db, settings=settings))


def get_region(*, db: Database, settings: Settings, name: str) -> SponsorRegion:
    for region in list_regions(db=db, settings=settings):
        if region.name == name:
            return region
    raise NotFound(f"region {name} not found")


def ensure_open(*, db: Database, settings: Settings, name: str) -> None:
    """A launch in a disabled region is a 409: the region keeps what runs there, takes no more."""
    with db.read() as conn:
        row = repo.get(conn, name)
    if row is not None and not row.enabled:
        raise Conflict(f"region {name} is closed to new instances", field="X-SWS-Region")


def stored_cloud(*, db: Database, name: str) -> RegionDriverConfig | None:
    """The cloud of a region added at run time (None: not stored, or no table yet)."""
    try:
        with db.read() as conn:
            row = repo.get_or_unavailable(conn, name)
    except SWSError:
        return None
    return region_cloud(row) if row is not None else None


def add_region(
    *,
    db: Database,
    clock: Clock,
    settings: Settings,
    name: str,
    driver: DriverKind,
    sponsor: Sponsor | None,
    cloud: str | None = None,
    catalog_region: str | None = None,
) -> SponsorRegion:
    """A new sponsor region, enabled, stored in the database (every replica reads it there)."""
    check_region_name(name)
    if name in settings.regions:
        raise Duplicate(f"region {name} exists already", field="name")
    region = SponsorRegion(
        name=name,
        sponsor=sponsor,
        driver=driver,
        enabled=True,
        stored=True,
        cloud=cloud,
        catalog_region=catalog_region,
    )
    with db.begin() as conn:
        repo.insert(conn, region, clock.now())
    identity.ensure_regions(db=db, names=[name])
    return region


def set_enabled(
    *, db: Database, clock: Clock, settings: Settings, name: str, enabled: bool
) -> SponsorRegion:
    return _edit(db, clock, settings, name, lambda r: with_enabled(r, enabled))


def set_sponsor(
    *, db: Database, clock: Clock, settings: Settings, name: str, sponsor: Sponsor | None
) -> SponsorRegion:
    return _edit(db, clock, settings, name, lambda r: with_sponsor(r, sponsor))


def _edit(
    db: Database,
    clock: Clock,
    settings: Settings,
    name: str,
    change: Callable[[SponsorRegion], SponsorRegion],
) -> SponsorRegion:
    """Change a region, stored or configured (its first edit stores it), under a row lock."""
    seeds = {region.name: region for region in configured(settings)}
    with db.begin() as conn:
        current = repo.get(conn, name, lock=True) or seeds.get(name)
        if current is None:
            raise NotFound(f"region {name} not found")
        changed = change(current)
        repo.save(conn, changed, clock.now())
    return changed


def health(
    *,
    db: Database,
    regions: Sequence[SponsorRegion],
    driver: Callable[[str], CloudDriver],
    timeout: float,
) -> list[RegionHealth]:
    """Each region's cloud asked for its flavors at once, with `timeout` seconds to answer."""
    with db.read() as conn:
        last = repo.last_events(conn)
    answers = _ask({r.name: _flavors(driver, r.name) for r in regions}, timeout)
    return [
        RegionHealth(
            region=r.name,
            reachable=not isinstance(answers[r.name], str),
            problem=_problem(answers[r.name]),
            last_event_at=last.get(r.name),
        )
        for r in regions
    ]


def all_regions(
    *,
    regions: Sequence[SponsorRegion],
    driver: Callable[[str], CloudDriver],
    project_id: str,
    timeout: float,
) -> list[RegionServers]:
    """The tenant's instances and quota usage in every region, asked at once; a region that
    fails or does not answer within `timeout` seconds is shown unreachable, with why."""
    calls = {r.name: _footprint(driver, r.name, project_id) for r in regions}
    answers = _ask(calls, timeout)
    views = []
    for region in regions:
        found = answers[region.name]
        if isinstance(found, str):
            views.append(RegionServers(region=region, state="unreachable", problem=found))
        else:
            servers, usage = found
            views.append(
                RegionServers(region=region, state="ok", servers=tuple(servers), usage=usage)
            )
    return views


def _flavors(driver: Callable[[str], CloudDriver], name: str) -> Callable[[], int]:
    return lambda: len(driver(name).list_flavors())


def _footprint(
    driver: Callable[[str], CloudDriver], name: str, project_id: str
) -> Callable[[], tuple[Sequence[Server], QuotaUsage]]:
    def read() -> tuple[Sequence[Server], QuotaUsage]:
        cloud = driver(name)
        servers = cloud.list_servers(project_id, ServerFilter(), SERVERS_PER_REGION, None)
        return servers, cloud.quota_usage(project_id)

    return read


def _problem(answer: object) -> str:
    return answer if isinstance(answer, str) else ""


def _ask(calls: Mapping[str, Callable[[], T]], timeout: float) -> dict[str, T | str]:
    """Run `calls` side by side; each answer, or why there is none (a string)."""
    if not calls:
        return {}
    pool = ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="sws-region")
    try:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        deadline = time.monotonic() + timeout
        return {name: _answer(future.result, deadline, timeout) for name, future in futures.items()}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung region must not hold the page


def _answer(result: Callable[[float], T], deadline: float, timeout: float) -> T | str:
    try:
        return result(max(deadline - time.monotonic(), 0.0))
    except FutureTimeout:
        return f"no answer within {timeout:g} s"
    except SWSError as exc:
        return str(exc) or type(exc).__name__
    except Exception as exc:  # a region's own failure, whatever it is, is shown, never a 500
        return f"{type(exc).__name__}: {exc}"
