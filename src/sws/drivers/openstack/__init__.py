"""The real-OpenStack side of the cloud port: an openstacksdk driver per region.

`build_driver(settings, region)` makes one region's driver from SWS's clouds.yaml account;
`build_object_stores(settings, now)` the Swift of each region with an `SWS_SWIFT` entry;
`regions_from_catalog(settings)` lists the Keystone catalog's compute regions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sws.config import Settings, SwiftConfig
from sws.drivers.openstack.connections import Connections, catalog_regions
from sws.drivers.openstack.driver import OpenStackDriver
from sws.errors import Invalid

if TYPE_CHECKING:
    from sws.drivers.openstack.objectstore import SwiftObjectStore
    from sws_swift.resp import Redis

__all__ = ["OpenStackDriver", "build_driver", "build_object_stores", "regions_from_catalog"]


def build_driver(
    settings: Settings, region: str, *, cloud: str | None = None, catalog_region: str | None = None
) -> OpenStackDriver:
    """`region`'s driver: SWS's account as `cloud` in clouds.yaml (else `openstack_cloud`),
    in the catalog's `catalog_region` (else `region`): a sponsor's own OpenStack."""
    connections = Connections(
        cloud=cloud or settings.openstack_cloud, clouds_yaml=settings.clouds_yaml,
        region=catalog_region or region, member_role=settings.openstack_member_role,
    )
    return OpenStackDriver(
        connections=connections, server_network=settings.openstack_server_network,
        build_wait=settings.openstack_build_wait_seconds,
    )


def regions_from_catalog(settings: Settings) -> list[str]:
    return catalog_regions(settings.openstack_cloud, settings.clouds_yaml)


def build_object_stores(
    settings: Settings, now: Callable[[], datetime]
) -> dict[str, SwiftObjectStore]:
    """Each `SWS_SWIFT` region's Swift. Needs the `swift` extra (Swift's InternalClient,
    swiftclient), and the `openstack` extra for Keystone tokens."""
    for config in settings.swift.values():
        _require_extras(config)
    _one_swift_dir(settings)
    return {region: _object_store(settings, region, now) for region in settings.swift}


def _object_store(settings: Settings, region: str, now: Callable[[], datetime]) -> SwiftObjectStore:
    from sws.drivers.openstack.objectstore import SwiftObjectStore
    from sws.drivers.openstack.swift_usage import SwiftUsage

    config = settings.swift[region]
    usage = None
    if config.usage_redis_url:
        usage = SwiftUsage(
            redis=_usage_redis(region, config), region=region, now=now,
            prefix=config.usage_prefix, account_prefix=config.account_prefix,
        )
    return SwiftObjectStore(
        region=region, proxy_url=config.proxy_url, token=_token_source(settings, config),
        internal=lambda: _internal_client(region, config),
        account_prefix=config.account_prefix,
        timeout=config.timeout_seconds, usage=usage,
    )


def _usage_redis(region: str, config: SwiftConfig) -> Redis:
    from sws_swift.resp import Redis

    try:
        return Redis.from_url(config.usage_redis_url or "", timeout=config.timeout_seconds)
    except ValueError as exc:
        raise Invalid(f"not a redis:// or unix:// URL: {exc}",
                      field=f"swift.{region}.usage_redis_url") from None


def _one_swift_dir(settings: Settings) -> None:
    """Swift keeps its hash path settings and storage policies per process, read from one
    `swift_dir`: every region's InternalClient must read the same one."""
    from swift.common.utils import readconf

    dirs = set()
    for region, config in settings.swift.items():
        try:
            dirs.add(readconf(str(config.internal_client_conf), "app:proxy-server")
                     .get("swift_dir", "/etc/swift"))
        except (Exception, SystemExit) as exc:  # unreadable: Swift prints why and exits
            raise _unusable(region, config, exc) from None
    if len(dirs) > 1:
        raise Invalid(
            f"the swift settings' InternalClient configs name different swift_dir {sorted(dirs)}:"
            " one SWS process can reach one Swift cluster (its regions share the rings' "
            "swift.conf)", field="swift",
        )


def _require_extras(config: SwiftConfig) -> None:
    needed = ["swift", "swiftclient"] + (["openstack"] if config.auth == "keystone" else [])
    for module in needed:
        try:
            __import__(module)
        except ImportError as exc:
            extra = "openstack" if module == "openstack" else "swift"
            raise Invalid(f"real Swift needs the {extra} extra: pip install './[{extra}]' "
                          f"from SWS's checkout ({exc})", field="swift") from exc


def _internal_client(region: str, config: SwiftConfig) -> Any:
    from sws_swift.writer import internal_client

    try:  # one try per call: an API request fails fast rather than wait through retries
        return internal_client(str(config.internal_client_conf), retries=1)
    except (Exception, SystemExit) as exc:  # Swift exits on a swift.conf without hash settings
        raise _unusable(region, config, exc) from None


def _unusable(region: str, config: SwiftConfig, exc: BaseException) -> Invalid:
    return Invalid(
        f"Swift's InternalClient for {region} cannot start from {config.internal_client_conf}: "
        f"{exc}", field=f"swift.{region}.internal_client_conf",
    )


def _token_source(settings: Settings, config: SwiftConfig) -> Callable[[bool], str]:
    from sws.drivers.openstack.connections import token_source
    from sws.drivers.openstack.objectstore import tempauth_token

    if config.auth == "tempauth":
        url = config.tempauth_url or f"{config.proxy_url.rstrip('/')}/auth/v1.0"
        return tempauth_token(
            url, config.tempauth_user or "", config.tempauth_key or "", config.timeout_seconds
        )
    return token_source(settings.openstack_cloud, settings.clouds_yaml, config.timeout_seconds)
