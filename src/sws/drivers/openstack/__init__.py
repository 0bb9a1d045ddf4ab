"""The real-OpenStack side of the cloud port: an openstacksdk driver per region.

`build_driver(settings, region)` makes one region's driver from SWS's clouds.yaml account;
`regions_from_catalog(settings)` lists the Keystone catalog's compute regions.
"""

from __future__ import annotations

from sws.config import Settings
from sws.drivers.openstack.connections import Connections, catalog_regions
from sws.drivers.openstack.driver import OpenStackDriver

__all__ = ["OpenStackDriver", "build_driver", "regions_from_catalog"]


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
