"""The cloud port: what SWS needs from a region, whether simulated or real OpenStack.

Every tenant-facing call takes the caller's `project_id` and behaves as if other projects'
resources did not exist: another project's id raises `NotFound`, exactly like a missing one.
Failures are SWS errors (`NotFound`, `Conflict`, `Invalid`, `QuotaExceeded`), never raw
driver exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from sws.errors import Invalid, SWSError
from sws_swift.rules import FirewallRules

MAX_SERVERS_PER_LAUNCH = 20

ServerActionName = Literal[
    "start", "stop", "reboot", "resize", "confirm_resize", "revert_resize", "shelve", "unshelve"
]


@dataclass(frozen=True, slots=True)
class Flavor:
    id: str
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    ephemeral_gb: int = 0
    swap_mb: int = 0
    is_public: bool = True


@dataclass(frozen=True, slots=True)
class Image:
    id: str
    name: str
    status: str  # queued | saving | active | deleted
    min_disk_gb: int
    min_ram_mb: int
    size_bytes: int
    visibility: str  # public | private
    owner_project_id: str | None
    created_at: datetime
    image_type: str = "image"  # image | snapshot
    source_server_id: str | None = None


@dataclass(frozen=True, slots=True)
class KeyPair:
    name: str
    fingerprint: str
    public_key: str
    created_at: datetime
    key_type: str = "ssh"
    private_key: str | None = None  # only when SWS generated the pair, and only once


@dataclass(frozen=True, slots=True)
class SecurityGroupRule:
    id: str
    security_group_id: str
    direction: str  # ingress | egress
    ethertype: str  # IPv4 | IPv6
    protocol: str | None  # tcp | udp | icmp | None (any)
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None


@dataclass(frozen=True, slots=True)
class SecurityGroup:
    id: str
    name: str
    description: str
    project_id: str
    rules: tuple[SecurityGroupRule, ...] = ()


@dataclass(frozen=True, slots=True)
class Server:
    id: str
    name: str
    project_id: str
    user_id: str
    flavor: Flavor
    image_id: str
    status: str  # Nova API status: BUILD ACTIVE SHUTOFF REBOOT RESIZE VERIFY_RESIZE SHELVED ...
    vm_state: str  # building active stopped resized shelved shelved_offloaded deleted error
    task_state: str | None
    power_state: str  # pending running shutdown crashed
    host: str | None
    fixed_ips: tuple[str, ...]
    floating_ips: tuple[str, ...]
    key_name: str | None
    security_groups: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None = None
    terminated_at: datetime | None = None
    fault: str | None = None
    old_flavor: Flavor | None = None  # set while a resize waits for confirm or revert


@dataclass(frozen=True, slots=True)
class ServerBrief:
    """A live (not DELETED) instance as a picker or a name needs it: no flavor, groups, times."""

    id: str
    name: str
    status: str  # the Nova API status, as `Server.status`
    fixed_ips: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FloatingIP:
    id: str
    address: str
    project_id: str
    status: str  # DOWN | ACTIVE
    server_id: str | None
    fixed_ip: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Hypervisor:
    id: str
    hostname: str
    state: str  # up | down
    status: str  # enabled | disabled
    vcpus: int
    vcpus_used: int
    ram_mb: int
    ram_used_mb: int
    disk_gb: int
    disk_used_gb: int
    running_vms: int
    server_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RemoteConsole:
    """How to reach an instance's console: Nova's URL, or SWS's own simulated serial console."""

    protocol: str  # vnc | serial | simulated
    type: str  # novnc | serial | simulated
    url: str | None  # None for the simulated console, which SWS serves itself


@dataclass(frozen=True, slots=True)
class ServerCreate:
    name: str
    flavor_id: str
    image_id: str
    key_name: str | None = None
    security_groups: tuple[str, ...] = ("default",)
    count: int = 1

    def __post_init__(self) -> None:
        # One limit for every driver and adapter: a launch is one Nova call per server.
        if not 1 <= self.count <= MAX_SERVERS_PER_LAUNCH:
            raise Invalid(
                f"count must be between 1 and {MAX_SERVERS_PER_LAUNCH}", field="count"
            )


@dataclass(frozen=True, slots=True)
class ServerFilter:
    name: str | None = None  # substring match, as Nova's regex filter mostly is used
    status: str | None = None
    flavor_id: str | None = None
    image_id: str | None = None
    host: str | None = None
    project_id: str | None = None  # admin lists only: one project's servers


@dataclass(frozen=True, slots=True)
class SecurityGroupRuleCreate:
    direction: str = "ingress"
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class Quota:
    instances: int = 10
    cores: int = 20
    ram_mb: int = 51200
    floating_ips: int = 10
    security_groups: int = 10
    key_pairs: int = 100


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    limits: Quota
    instances: int
    cores: int
    ram_mb: int
    floating_ips: int
    security_groups: int
    key_pairs: int
    extra: dict[str, int] = field(default_factory=dict)


class CloudDriver(Protocol):
    """One region's compute and network, as a tenant or an admin sees it."""

    region: str

    def list_flavors(self) -> Sequence[Flavor]: ...
    def get_flavor(self, flavor_id: str) -> Flavor: ...

    def list_images(self, project_id: str) -> Sequence[Image]: ...
    def get_image(self, project_id: str, image_id: str) -> Image: ...
    def delete_image(self, project_id: str, image_id: str) -> None: ...

    def list_keypairs(self, project_id: str) -> Sequence[KeyPair]: ...
    def create_keypair(self, project_id: str, name: str, public_key: str | None) -> KeyPair: ...
    def delete_keypair(self, project_id: str, name: str) -> None: ...

    def list_security_groups(self, project_id: str) -> Sequence[SecurityGroup]: ...
    def get_security_group(self, project_id: str, group_id: str) -> SecurityGroup: ...
    def create_security_group(
        self, project_id: str, name: str, description: str
    ) -> SecurityGroup: ...
    def delete_security_group(self, project_id: str, group_id: str) -> None: ...
    def add_security_group_rule(
        self, project_id: str, group_id: str, rule: SecurityGroupRuleCreate
    ) -> SecurityGroupRule: ...
    def delete_security_group_rule(self, project_id: str, rule_id: str) -> None: ...

    def list_servers(
        self, project_id: str, filters: ServerFilter, limit: int, marker: str | None
    ) -> Sequence[Server]: ...
    def list_server_briefs(
        self, project_id: str, limit: int, filters: ServerFilter = ServerFilter()
    ) -> Sequence[ServerBrief]: ...  # up to `limit` live instances, as list_servers lists them
    def count_servers(
        self, project_id: str
    ) -> Mapping[str, int]: ...  # how many live instances show each status: {"ACTIVE": 3}
    def get_server(self, project_id: str, server_id: str) -> Server: ...
    def create_servers(
        self, project_id: str, user_id: str, spec: ServerCreate
    ) -> Sequence[Server]: ...
    def server_action(
        self,
        project_id: str,
        server_id: str,
        action: ServerActionName,
        flavor_id: str | None = None,
    ) -> Server: ...
    def rename_server(self, project_id: str, server_id: str, name: str) -> Server: ...
    def rebuild_server(
        self, project_id: str, server_id: str, image_id: str
    ) -> Server: ...  # reinstall from `image_id`: the disk is wiped; id, IPs and flavor stay
    def create_snapshot(self, project_id: str, server_id: str, name: str) -> Image: ...
    def delete_server(self, project_id: str, server_id: str) -> None: ...
    def console_output(
        self, project_id: str, server_id: str, length: int | None
    ) -> Sequence[str]: ...  # the last `length` lines of the serial console (all if None)
    def remote_console(self, project_id: str, server_id: str) -> RemoteConsole: ...

    def list_floating_ips(self, project_id: str) -> Sequence[FloatingIP]: ...
    def allocate_floating_ip(self, project_id: str) -> FloatingIP: ...
    def associate_floating_ip(
        self, project_id: str, floating_ip_id: str, server_id: str
    ) -> FloatingIP: ...
    def disassociate_floating_ip(self, project_id: str, floating_ip_id: str) -> FloatingIP: ...
    def release_floating_ip(self, project_id: str, floating_ip_id: str) -> None: ...

    def quota_usage(self, project_id: str) -> QuotaUsage: ...
    def set_quota(self, project_id: str, quota: Quota) -> None: ...  # the admin's, at once

    # Admin views, across projects.
    def list_hypervisors(self) -> Sequence[Hypervisor]: ...
    def list_all_servers(
        self, filters: ServerFilter, limit: int, marker: str | None
    ) -> Sequence[Server]: ...


# ---- metrics: what a hypervisor reports about each instance (libvirt-like) ------------------


@dataclass(frozen=True, slots=True)
class CounterReading:
    """One meter read from an instance; `device` names a disk or vNIC, "" the whole instance."""

    meter: str  # a Ceilometer meter name: cpu, disk.device.read.bytes, memory.usage ...
    value: float
    device: str = ""


@dataclass(frozen=True, slots=True)
class InstanceReading:
    """Everything read from one instance at one moment: cumulative counters and gauges."""

    server_id: str
    project_id: str
    flavor: Flavor
    read_at: datetime
    running: bool
    counters: tuple[CounterReading, ...]  # cumulative since the domain started
    gauges: tuple[CounterReading, ...]


class MetricSource(Protocol):
    """Where a region's per-instance meters come from (simulated workload, or libvirt agents)."""

    def read_instances(self) -> Sequence[InstanceReading]: ...


# ---- object storage: containers, objects and their firewall (Swift, or the simulated store) --


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """One container of a project, as Swift's account listing shows it."""

    name: str
    object_count: int
    bytes_used: int


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    name: str
    bytes: int
    content_type: str
    etag: str  # MD5 hex of the content, as Swift computes it
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class StoredObject:
    info: ObjectInfo
    data: bytes


@dataclass(frozen=True, slots=True)
class ContainerUsage:
    """What one container used in one clock hour `[hour_start, hour_start + 1 h)`, exactly.

    `byte_seconds` is the stored size integrated over the hour (a GB-month is 10^9 bytes kept
    for a whole calendar month: see `gb_month`); `requests` counts the object requests that were
    served; `bytes_out` is egress (response bodies of object GETs), `bytes_in` uploads.
    """

    project_id: str
    container: str
    hour_start: datetime
    byte_seconds: int
    requests: int
    bytes_out: int
    bytes_in: int
    region: str = ""


class RateLimited(SWSError):
    """Over a storage-firewall limit: 429 with `Retry-After` seconds."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.retry_after = retry_after


class ObjectStore(Protocol):
    """One region's object storage as a tenant sees it: Swift, or the simulated store.

    Containers are per project (Swift: the account `AUTH_<project_id>`); another project's
    container raises `NotFound`. `client_ip` is the address the storage firewall judges on
    object requests; a refusal raises `Forbidden` (403) or `RateLimited` (429).
    """

    region: str

    def list_containers(self, project_id: str) -> Sequence[ContainerInfo]: ...
    def get_container(self, project_id: str, name: str) -> ContainerInfo: ...
    def create_container(self, project_id: str, name: str) -> ContainerInfo: ...
    def delete_container(self, project_id: str, name: str) -> None: ...  # Conflict if not empty

    def list_objects(
        self, project_id: str, container: str, *, client_ip: str, prefix: str = "",
        limit: int = 1000, marker: str | None = None,
    ) -> Sequence[ObjectInfo]: ...  # by name; `marker`: only names after it
    def put_object(
        self, project_id: str, container: str, name: str, data: bytes, *, content_type: str,
        client_ip: str,
    ) -> ObjectInfo: ...
    def get_object(
        self, project_id: str, container: str, name: str, *, client_ip: str
    ) -> StoredObject: ...
    def delete_object(
        self, project_id: str, container: str, name: str, *, client_ip: str
    ) -> None: ...

    # The rule value is the one the Swift middleware enforces; empty rules mean no firewall.
    def get_firewall(self, project_id: str, container: str) -> FirewallRules: ...
    def set_firewall(self, project_id: str, container: str, rules: FirewallRules) -> None: ...

    def usage(self, *, start: datetime, end: datetime) -> Sequence[ContainerUsage]:
        """Per container and hour, for hours starting in `[start, end)`, every project."""
        ...
