"""An approved quota on OpenStack: Nova's quota set (instances, cores, RAM, key pairs) and
Neutron's quota (floating IPs, security groups) of the project, set as SWS's admin account,
with the field names each service's API uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sws.drivers.base import Quota
from sws.drivers.openstack.driver import OpenStackDriver


@dataclass
class _Recording:
    """A proxy that keeps what it was asked to change, as the service would store it."""

    stored: dict[str, dict[str, Any]] = field(default_factory=dict)

    def update_quota_set(self, project: str, **attrs: Any) -> None:
        self.stored.setdefault(project, {}).update(attrs)

    def update_quota(self, project: str, **attrs: Any) -> None:
        self.stored.setdefault(project, {}).update(attrs)


class _Admin:
    def __init__(self) -> None:
        self.compute = _Recording()
        self.network = _Recording()


class _Connections:
    region = "RegionOne"

    def __init__(self) -> None:
        self.admin_conn = _Admin()

    def admin(self) -> _Admin:
        return self.admin_conn

    def project(self, project_id: str) -> _Admin:
        raise AssertionError("a quota is the admin's to set, never the project's own")


def test_nova_and_neutron_get_the_project_s_new_quota() -> None:
    connections = _Connections()
    driver = OpenStackDriver(connections=connections)  # type: ignore[arg-type]
    quota = Quota(instances=20, cores=40, ram_mb=102400, floating_ips=20, security_groups=20,
                  key_pairs=100)
    driver.set_quota("proj-1", quota)
    assert connections.admin_conn.compute.stored == {
        "proj-1": {"instances": 20, "cores": 40, "ram": 102400, "key_pairs": 100}}
    assert connections.admin_conn.network.stored == {
        "proj-1": {"floatingip": 20, "security_group": 20}}
