"""Global search across one region's instances, floating IPs, volumes, containers and LBs.

Every list is the caller's tenant's, read through the same ports the pages use (the cloud
driver, the block and object storage, the load balancer service), so another tenant's
resources can never be found. A region without block or object storage skips that kind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver, FloatingIP, ObjectStore
from sws.drivers.volumes import BlockStorage
from sws.loadbalancer import service as loadbalancers
from sws.search.model import Found, find, needle

ALL = 1000  # instances read for a search, as the console's pickers read them


@dataclass(frozen=True, slots=True)
class Region:
    """Where to look: one region's ports, and the LB service's database."""

    name: str
    driver: CloudDriver
    volumes: BlockStorage | None
    objects: ObjectStore | None
    db: Database
    clock: Clock
    lb_config: loadbalancers.LBConfig


def search(*, region: Region, tenant_id: str, query: str) -> list[Found]:
    """What in `region` of `tenant_id` matches `query`; [] when it is too short to search."""
    wanted = needle(query)
    if wanted is None:
        return []
    ips = region.driver.list_floating_ips(tenant_id)
    found = [_instances(region, tenant_id, wanted, ips), _floating_ips(ips, wanted),
             _volumes(region, tenant_id, wanted), _containers(region, tenant_id, wanted),
             _loadbalancers(region, tenant_id, wanted)]
    return [kind for kind in found if kind.hits]


def _instances(
    region: Region, tenant_id: str, wanted: str, ips: Sequence[FloatingIP]
) -> Found:
    """Live instances by name, id, fixed IP or attached floating IP, read in brief: a tenant
    with a thousand instances is searched without building a thousand whole servers."""
    attached: dict[str, list[str]] = defaultdict(list)
    for ip in ips:
        if ip.server_id is not None:
            attached[ip.server_id].append(ip.address)
    briefs = region.driver.list_server_briefs(tenant_id, ALL)
    return find("instance", briefs, wanted, ident=lambda s: s.id, name=lambda s: s.name,
                texts=lambda s: (*attached.get(s.id, ()), *s.fixed_ips))


def _floating_ips(ips: Sequence[FloatingIP], wanted: str) -> Found:
    return find("floating_ip", ips, wanted, ident=lambda ip: ip.id, name=lambda ip: ip.address,
                texts=lambda ip: (ip.fixed_ip,))


def _volumes(region: Region, tenant_id: str, wanted: str) -> Found:
    volumes = region.volumes.list_volumes(tenant_id) if region.volumes is not None else []
    return find("volume", volumes, wanted, ident=lambda v: v.id, name=lambda v: v.name,
                texts=lambda v: ())


def _containers(region: Region, tenant_id: str, wanted: str) -> Found:
    containers = region.objects.list_containers(tenant_id) if region.objects is not None else []
    return find("container", containers, wanted, ident=lambda c: c.name, name=lambda c: c.name,
                texts=lambda c: ())


def _loadbalancers(region: Region, tenant_id: str, wanted: str) -> Found:
    views = loadbalancers.list_loadbalancers(
        db=region.db, clock=region.clock, config=region.lb_config, project_id=tenant_id,
        region=region.name)
    return find("load_balancer", views, wanted, ident=lambda v: v.row.id,
                name=lambda v: v.row.name, texts=lambda v: (*v.endpoints, *v.addresses))
