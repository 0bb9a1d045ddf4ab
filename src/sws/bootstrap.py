"""The composition root: settings -> database -> buses -> drivers -> services -> app."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sws.billing.payments.runtime import PaymentsRuntime
from sws.billing.payments.runtime import build_setup as payment_setup
from sws.billing.ports import (
    BandwidthFeed,
    BandwidthSource,
    BandwidthUsage,
    CDNEgress,
    CDNFeed,
    ObjectStorageFeed,
)
from sws.billing.runtime import BillingRuntime
from sws.cdn import service as cdn
from sws.cdn import traffic as cdn_traffic
from sws.cdn.lifecycle import OriginChecks
from sws.cdn.limiter import PurgeLimiter, build_limiter
from sws.cdn.origin_access import SwiftOriginKeys
from sws.clock import Clock, SystemClock
from sws.community.runtime import CommunityRuntime
from sws.config import RegionDriverConfig, Settings
from sws.db.engine import Database, make_engine
from sws.drivers.base import CloudDriver, ObjectStore, Quota
from sws.drivers.simulated.objectstore import SimulatedObjectStore
from sws.drivers.simulated.region import SimulatedRegion
from sws.drivers.simulated.volumes import SimulatedBlockStorage
from sws.drivers.simulated.workload import SimulatedWorkload
from sws.drivers.volumes import BlockStorage
from sws.errors import Invalid, NotFound, SWSError
from sws.events import service as events
from sws.events.bus import InProcessBus
from sws.identity import service as identity
from sws.identity.auth import AuthBackend, LocalAuth
from sws.identity.throttle import LoginThrottle, build_throttle
from sws.loadbalancer import service as loadbalancers
from sws.loadbalancer.ownership import DnsTxtResolver, TxtResolver
from sws.mail.adapters import build_mailer
from sws.mail.outbox import OutboxDispatcher
from sws.mail.ports import Mailer
from sws.metering import alarms as metering_alarms
from sws.metering import service as metering_service
from sws.metering.model import Retention
from sws.metering.notifiers import Notifiers, SmtpSettings
from sws.metering.runtime import MeteringRuntime, Schedule
from sws.metering.targets import AddressResolver, SystemResolver, WebhookTargets
from sws.regions import service as sponsor_regions
from sws.signup.runtime import build_front_door
from sws.signup.service import FrontDoor
from sws.storagefw.runtime import StorageSampling
from sws.storagefw.service import StorageBilling
from sws.volumes.service import VolumeSchedules
from sws.volumes.usage import VolumeUsageFeed

_log = logging.getLogger(__name__)


@dataclass
class RegionRuntime:
    """One region: its driver and the bus its notifications travel on."""

    name: str
    driver: SimulatedRegion
    bus: InProcessBus
    workload: SimulatedWorkload | None = None  # the region's metric source


@dataclass
class Container:
    settings: Settings
    db: Database
    clock: Clock
    auth: AuthBackend
    login_throttle: LoginThrottle  # shared by every process through Redis or the database
    mailer: Mailer  # SMTP, or .eml files in $SWS_HOME/outbox (sws.mail.adapters)
    mail_outbox: OutboxDispatcher  # sends what use cases enqueued, after they commit
    front_door: FrontDoor  # sign-up and password reset (docs/signup.md)
    regions: dict[str, RegionRuntime] = field(default_factory=dict)
    cloud_drivers: dict[str, CloudDriver] = field(default_factory=dict)  # real OpenStack regions
    stores: dict[str, ObjectStore] = field(default_factory=dict)  # object storage per region
    # Block storage per region (docs/island.md#volumes-in-the-simulated-region).
    block_storages: dict[str, BlockStorage] = field(default_factory=dict)  # Cinder's on OpenStack
    metering: MeteringRuntime | None = None
    billing: BillingRuntime | None = None
    payments: PaymentsRuntime | None = None  # checkouts and the janitor (docs/payments.md)
    storage_sampling: StorageSampling | None = None  # only with real Swift somewhere
    # DNS TXT lookups proving a tenant's custom LB host names (a fake in tests).
    txt_resolver: TxtResolver = field(default_factory=DnsTxtResolver)
    # Host names of alarm webhooks, resolved and checked at each delivery (a fake in tests).
    address_resolver: AddressResolver = field(default_factory=SystemResolver)
    cdn_limiter: PurgeLimiter | None = None  # purge rate limits, built on first use
    cdn_origin_access: cdn.OriginAccess | None = None  # with real Swift and cdn_origin_secret
    community: CommunityRuntime | None = None  # StackLab mode's leases and limits
    cdn_origin_checks: OriginChecks | None = None  # CDN distributions on deleted containers
    volume_schedules: VolumeSchedules | None = None  # daily volume snapshots and retention

    @property
    def default_region(self) -> str:
        return self.settings.regions[0]

    @property
    def lb_config(self) -> loadbalancers.LBConfig:
        """The cloud-wide LB settings, from the settings as they are now."""
        return loadbalancers.LBConfig.from_settings(self.settings, txt=self.txt_resolver)

    @property
    def cdn_config(self) -> cdn.CDNConfig:
        """The cloud-wide CDN settings, from the settings as they are now."""
        return cdn.CDNConfig.from_settings(self.settings, lb=self.lb_config, txt=self.txt_resolver,
                                           origin_access=self.cdn_origin_access)

    @property
    def purge_limiter(self) -> PurgeLimiter:
        """Purge jobs per tenant, on Redis when configured (every replica shares it)."""
        if self.cdn_limiter is None:
            self.cdn_limiter = build_limiter(self.settings, db=self.db, clock=self.clock)
        return self.cdn_limiter

    @property
    def webhook_targets(self) -> WebhookTargets:
        """Where alarm webhooks may go, from the settings (and the resolver) as they are now."""
        return WebhookTargets.from_settings(self.settings, resolver=self.address_resolver)

    def driver(self, region: str | None = None) -> CloudDriver:
        name = region or self.default_region
        if name not in self.cloud_drivers and name not in self.regions:
            self._attach_stored(name)
        if name in self.cloud_drivers:
            return self.cloud_drivers[name]
        if name not in self.regions:
            raise Invalid(f"unknown region {name!r}", field="X-SWS-Region")
        return self.regions[name].driver

    def serve_region(self, name: str, cloud: RegionDriverConfig) -> None:
        """Serve one more region (docs/community.md#sponsor-regions): simulated, or the
        OpenStack that `cloud` names."""
        if cloud.driver == "openstack":
            self.cloud_drivers[name] = _openstack_region(self.settings, name, cloud)
            self.block_storages[name] = _openstack_block_storage(self.settings, name, cloud)
        else:
            self.regions[name] = _simulated_region(self, name)
            self.stores[name] = SimulatedObjectStore(region=name, db=self.db, clock=self.clock)
            self.block_storages[name] = SimulatedBlockStorage(
                region=name, db=self.db, clock=self.clock, bus=self.regions[name].bus,
                data_dir=self.settings.home / "volumes" / name,
                hosts_ready=self.regions[name].driver.ensure_seeded)

    def serve_stored_regions(self) -> None:
        """Serve every region the admin added at run time (this process starting); one whose
        cloud cannot be set up is logged and skipped, never stops the others."""
        for region in sponsor_regions.list_regions(db=self.db, settings=self.settings):
            if region.stored and region.name not in self.settings.regions:
                try:
                    self._attach_stored(region.name)
                except SWSError as exc:
                    _log.warning("region %s is not served: %s", region.name, exc.detail)

    def _attach_stored(self, name: str) -> None:
        """A region another process added is served here on first use."""
        cloud = sponsor_regions.stored_cloud(db=self.db, name=name)
        if cloud is not None and name not in self.drivers():
            self.serve_region(name, cloud)

    def check_launch(self, tenant_id: str, region: str) -> None:
        """429 with Retry-After when a tenant launches too often in a free region."""
        if self.community is not None:
            self.community.check_launch(tenant_id, region)

    def tick(self) -> int:
        """Complete due tasks in every simulated region and apply the notifications they sent."""
        done = 0
        for runtime in self.regions.values():
            done += runtime.driver.advance()
            runtime.bus.flush()
        if self.metering is not None:
            self.metering.tick()
        if self.storage_sampling is not None:
            self.storage_sampling.tick()
        if self.cdn_origin_checks is not None:
            self.cdn_origin_checks.tick()
        if self.volume_schedules is not None:
            self.volume_schedules.tick()
        if self.billing is not None:
            self.billing.tick()
        if self.payments is not None:
            self.payments.tick()
        if self.community is not None:
            self.community.tick()
        self.mail_outbox.run_once()
        return done

    def drivers(self) -> dict[str, CloudDriver]:
        found: dict[str, CloudDriver] = dict(self.cloud_drivers)
        found.update({name: runtime.driver for name, runtime in self.regions.items()})
        return found

    def object_store(self, region: str | None = None) -> ObjectStore:
        """The region's object storage; a region SWS runs without one (a real OpenStack with
        no `SWS_SWIFT` entry) is a 404 that says so, an unknown region a 422."""
        name = region or self.default_region
        if name in self.stores:
            return self.stores[name]
        if name in self.drivers():
            raise NotFound(f"this region ({name}) has no object storage", field="X-SWS-Region")
        raise Invalid(f"unknown region {name!r}", field="X-SWS-Region")

    def block_storage(self, region: str | None = None) -> BlockStorage:
        """The region's volumes (the simulated hypervisors' disks, or Cinder); a region served
        without them is a 404 that says so, an unknown region a 422."""
        name = region or self.default_region
        self.driver(name)  # an unknown region is a 422; a stored one is served from now on
        if name in self.block_storages:
            return self.block_storages[name]
        raise NotFound(f"this region ({name}) has no block storage", field="X-SWS-Region")

    def object_stores(self) -> dict[str, ObjectStore]:
        return dict(self.stores)


def build(settings: Settings, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    db = Database(make_engine(settings.db_url))
    if settings.driver == "openstack":
        settings = _with_catalog_regions(settings)
    auth = _auth(settings, db, clock)
    mailer = build_mailer(settings, clock)
    container = Container(
        settings=settings, db=db, clock=clock, auth=auth,
        login_throttle=build_throttle(settings, db=db, clock=clock),
        mailer=mailer, mail_outbox=OutboxDispatcher(db=db, clock=clock, mailer=mailer),
        front_door=build_front_door(settings, db=db, clock=clock),
    )
    container.community = CommunityRuntime.from_settings(
        settings, db=db, clock=clock, drivers=container.drivers)
    for name in settings.regions:
        container.serve_region(name, sponsor_regions.driver_config(settings, name))
    _real_swift(container)
    container.volume_schedules = VolumeSchedules(db=db, clock=clock,
                                                 storage=container.block_storage)
    container.metering = _metering(container)
    container.billing = _billing(container)
    container.payments = PaymentsRuntime(
        db=db, clock=clock, setup=payment_setup(settings),
        every=timedelta(seconds=settings.payments_janitor_seconds), drivers=container.drivers)
    return container


def _real_swift(container: Container) -> None:
    """Each region with an `SWS_SWIFT` entry gets its Swift, and sizes are sampled for billing."""
    settings = container.settings
    unknown = sorted(set(settings.swift) - set(settings.regions))
    if unknown:
        raise Invalid(f"swift settings name regions SWS does not have: {unknown}", field="swift")
    if not settings.swift:
        return
    from sws.drivers.openstack import build_object_stores

    swift = build_object_stores(settings, container.clock.now)
    container.stores.update(swift)
    if settings.cdn_origin_secret:
        container.cdn_origin_access = cdn.OriginAccess(
            settings.cdn_origin_secret.encode(), clock=container.clock,
            keys=lambda region: SwiftOriginKeys(
                partial(swift[region].with_internal_client, "set a CDN origin's key")))
    container.cdn_origin_checks = OriginChecks(db=container.db, clock=container.clock,
                                               object_store=container.object_store)
    container.storage_sampling = StorageSampling(
        clock=container.clock,
        samplers=swift,
        tenant_ids=lambda: identity.tenant_ids(db=container.db),
        every=timedelta(seconds=settings.swift_sample_seconds),
    )


def _auth(settings: Settings, db: Database, clock: Clock) -> AuthBackend:
    if settings.auth_backend == "keystone":
        from sws.identity.keystone import HttpKeystone, KeystoneAuth, TokenCache

        cache = TokenCache(
            ttl=timedelta(seconds=settings.keystone_cache_seconds),
            size=settings.keystone_cache_size,
        )
        return KeystoneAuth(
            db=db, clock=clock, keystone=HttpKeystone(_keystone_url(settings)), cache=cache,
            admin_roles=tuple(settings.keystone_admin_roles),
            operator_tenant=settings.operator_tenant,
        )
    return LocalAuth(
        db=db, clock=clock, ttl=timedelta(seconds=settings.token_ttl_seconds),
        operator_tenant=settings.operator_tenant,
    )


def _keystone_url(settings: Settings) -> str:
    if settings.keystone_url:
        return settings.keystone_url
    from sws.drivers.openstack.connections import load_cloud

    return str(load_cloud(settings.openstack_cloud, settings.clouds_yaml).auth["auth_url"])


def _with_catalog_regions(settings: Settings) -> Settings:
    """Regions come from the Keystone catalog; if it cannot be read now, from the settings."""
    from sws.drivers.openstack import regions_from_catalog
    from sws.errors import SWSError

    try:
        found = regions_from_catalog(settings)
    except SWSError:
        return settings
    return settings.model_copy(update={"regions": found}) if found else settings


def _openstack_region(settings: Settings, name: str, cloud: RegionDriverConfig) -> CloudDriver:
    from sws.drivers.openstack import build_driver

    return build_driver(settings, name, cloud=cloud.cloud, catalog_region=cloud.catalog_region)


def _openstack_block_storage(settings: Settings, name: str,
                             cloud: RegionDriverConfig) -> BlockStorage:
    from sws.drivers.openstack.volumes import build_block_storage

    return build_block_storage(settings, name, cloud=cloud.cloud,
                               catalog_region=cloud.catalog_region)


class _MeteredBandwidth:
    """Billing's bandwidth port over the metering domain's hourly outbound bytes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def bandwidth(self, *, start: datetime, end: datetime) -> list[BandwidthUsage]:
        usage = metering_service.bandwidth_usage(db=self.db, start=start, end=end)
        return [BandwidthUsage(u.project_id, u.resource_id, u.hour_start, u.bytes) for u in usage]


class _LoadBalancerBandwidth:
    """Billing's bandwidth port over the load balancers' outbound bytes per hour (HAProxy
    `bout`, reported by the LB agents); the resource is the LB."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def bandwidth(self, *, start: datetime, end: datetime) -> list[BandwidthUsage]:
        usage = loadbalancers.traffic_usage(db=self.db, start=start, end=end)
        return [BandwidthUsage(u.project_id, u.lb_id, u.hour_start, u.bytes_out, u.region)
                for u in usage]


class _Bandwidth:
    """Every source of outbound bytes, as one bandwidth port: instances (metering) and LBs."""

    def __init__(self, *sources: BandwidthSource) -> None:
        self.sources = sources

    def bandwidth(self, *, start: datetime, end: datetime) -> list[BandwidthUsage]:
        return [u for s in self.sources for u in s.bandwidth(start=start, end=end)]


class _CDNEgress:
    """Billing's CDN port over the edges' bytes per distribution, ISP view and hour."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def egress(self, *, start: datetime, end: datetime) -> list[CDNEgress]:
        usage = cdn_traffic.usage(db=self.db, start=start, end=end)
        return [CDNEgress(u.project_id, u.distribution_id, u.hour_start, u.isp, u.counts.bytes,
                          u.region) for u in usage]


def _billing(container: Container) -> BillingRuntime:
    """The farmer over every region's driver, rating bandwidth from metering and LBs, object
    storage, the CDN, and volumes and their snapshots from the volume events."""
    bandwidth = _Bandwidth(
        _MeteredBandwidth(container.db), _LoadBalancerBandwidth(container.db)
    )
    feed = BandwidthFeed(bandwidth, default_region=container.default_region)
    storage = ObjectStorageFeed(
        StorageBilling(container.object_stores), default_region=container.default_region
    )
    return BillingRuntime(
        db=container.db, clock=container.clock, drivers=container.drivers,
        sources=[feed, CDNFeed(_CDNEgress(container.db), default_region=container.default_region),
                 storage, VolumeUsageFeed(container.db, default_region=container.default_region)],
        leases=container.settings.lease_terms,
        review_standing=not (container.community and container.community.whole_cloud_free),
    )


def _metering(container: Container) -> MeteringRuntime:
    """The collector over every region's workload, the rollup sealer and the alarm evaluator."""
    s = container.settings
    retention = Retention(
        raw=timedelta(hours=s.metering_raw_retention_hours),
        rollups=tuple(
            (seconds, timedelta(days=s.metering_retention_days.get(name, days)))
            for name, seconds, days in (
                ("1m", 60, 7), ("5m", 300, 35), ("1h", 3600, 400), ("1d", 86400, 1830)
            )
        ),
    )
    schedule = Schedule(
        poll=timedelta(seconds=s.metering_poll_seconds),
        grace=timedelta(seconds=s.metering_grace_seconds),
        evaluation=timedelta(seconds=s.metering_evaluation_seconds),
        retention=retention,
        delivery=metering_alarms.DeliveryPolicy(
            attempts=s.metering_webhook_attempts,
            backoff=timedelta(seconds=s.metering_webhook_backoff_seconds),
        ),
    )
    sources = {n: r.workload for n, r in container.regions.items() if r.workload is not None}
    return MeteringRuntime(
        db=container.db, clock=container.clock, sources=sources, schedule=schedule,
        leases=s.lease_terms,
        notifiers=Notifiers(clock=container.clock, smtp=SmtpSettings(), mailer=container.mailer,
                            targets=lambda: container.webhook_targets),
    )


def _default_quota(container: Container, name: str) -> Quota:
    """A project's quota where none was set; a free region's is the free tier's
    (docs/community.md#free-tier)."""
    community = container.community
    if community is None or not community.terms.is_free(name):
        return Quota()
    return Quota(**community.terms.quota)


def _simulated_region(container: Container, name: str) -> RegionRuntime:
    bus = InProcessBus()
    driver = SimulatedRegion(
        name=name,
        db=container.db,
        clock=container.clock,
        bus=bus,
        hypervisor_count=container.settings.sim_hypervisors,
        task_seconds=container.settings.sim_task_seconds,
        quota=_default_quota(container, name),
    )
    bus.subscribe(events.bus_consumer(db=container.db, clock=container.clock, region=name))
    workload = SimulatedWorkload(driver=driver, clock=container.clock)
    bus.subscribe(workload.on_notifications)
    return RegionRuntime(name=name, driver=driver, bus=bus, workload=workload)
