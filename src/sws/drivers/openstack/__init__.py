"""The real-OpenStack side of the cloud port: an openstacksdk driver per region.

`build_driver(settings, region)` makes one region's driver from SWS's clouds.yaml account;
`build_object_store(settings, region, now)` one region's Swift (its `SWS_SWIFT` entry);
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

__all__ = ["OpenStackDriver", "build_driver", "build_object_store", "regions_from_catalog"]


def build_driver(settings: Settings, region: str) -> OpenStackDriver:
    connections = Connections(
        cloud=settings.openstack_cloud, clouds_yaml=settings.clouds_yaml, region=region,
        member_role=settings.openstack_member_role,
    )
    return OpenStackDriver(
        connections=connections, server_network=settings.openstack_server_network,
        build_wait=settings.openstack_build_wait_seconds,
    )


def regions_from_catalog(settings: Settings) -> list[str]:
    return catalog_regions(settings.openstack_cloud, settings.clouds_yaml)


def build_object_store(
    settings: Settings, region: str, now: Callable[[], datetime]
) -> SwiftObjectStore:
    """The region's Swift: needs the `swift` extra (Swift's InternalClient, swiftclient)."""
    from sws.drivers.openstack.objectstore import SwiftObjectStore
    from sws.drivers.openstack.swift_usage import SwiftUsage
    from sws_swift.resp import Redis

    try:
        import swift  # noqa: F401  (the InternalClient)
        import swiftclient  # noqa: F401  (object requests)
    except ImportError as exc:
        raise Invalid(f"real Swift needs the swift extra: pip install 'sws[swift]' ({exc})",
                      field="swift") from exc
    config = settings.swift[region]
    usage = None
    if config.usage_redis_url:
        redis = Redis.from_url(config.usage_redis_url, timeout=config.timeout_seconds)
        usage = SwiftUsage(
            redis=redis, region=region, now=now, prefix=config.usage_prefix,
            account_prefix=config.account_prefix,
        )
    return SwiftObjectStore(
        region=region, proxy_url=config.proxy_url, token=_swift_token(settings, config),
        internal=_internal_client(region, config), account_prefix=config.account_prefix,
        timeout=config.timeout_seconds, usage=usage,
    )


def _internal_client(region: str, config: SwiftConfig) -> Any:
    from sws_swift.writer import internal_client

    try:
        return internal_client(str(config.internal_client_conf))
    except Exception as exc:  # a missing or unreadable config, rings or swift.conf
        raise Invalid(
            f"Swift's InternalClient for {region} cannot start from "
            f"{config.internal_client_conf}: {exc}", field=f"swift.{region}.internal_client_conf"
        ) from exc


def _swift_token(settings: Settings, config: SwiftConfig) -> Callable[[bool], str]:
    from sws.drivers.openstack.objectstore import keystone_token, tempauth_token

    if config.auth == "tempauth":
        url = config.tempauth_url or f"{config.proxy_url.rstrip('/')}/auth/v1.0"
        return tempauth_token(url, config.tempauth_user or "", config.tempauth_key or "")
    return keystone_token(settings.openstack_cloud, settings.clouds_yaml)
