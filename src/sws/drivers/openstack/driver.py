"""The cloud port over a real OpenStack region (Nova, Neutron, Glance) through openstacksdk.

Tenant calls run with a token scoped to the caller's project (see `connections`), so another
project's server, group or address is a 404 exactly as a missing one. Every SDK failure leaves
as an SWS error (`errors.translating`).

Differences from the simulated region, all Nova's own behaviour:
- a create answers once the server leaves BUILD, or after `build_wait` seconds; a server that
  went to ERROR at scheduling (Nova's "No valid host was found") is deleted and the request
  answers 409 with Nova's fault message, as the simulated region does;
- key pairs belong to a Nova *user*, and SWS acts as one user for every tenant: a tenant's
  pairs are stored as `sws-<project id>-<name>` and shown without the prefix;
- `old_flavor` is not reported by Nova's API and stays None.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sws.drivers.base import (
    Flavor,
    FloatingIP,
    Hypervisor,
    Image,
    KeyPair,
    Quota,
    QuotaUsage,
    RemoteConsole,
    SecurityGroup,
    SecurityGroupRule,
    SecurityGroupRuleCreate,
    Server,
    ServerActionName,
    ServerBrief,
    ServerCreate,
    ServerFilter,
)
from sws.drivers.openstack.capacity import Capacity, capacity, server_ids
from sws.drivers.openstack.connections import Connections
from sws.drivers.openstack.errors import translating
from sws.drivers.openstack.preflight import check_boot
from sws.drivers.simulated import keys
from sws.errors import Conflict, Forbidden, Invalid, NotFound

POWER_STATES = {0: "pending", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed",
                7: "suspended"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class OpenStackDriver:
    """One real region, behind the same `CloudDriver` port as the simulated one."""

    def __init__(self, *, connections: Connections, server_network: str = "none",
                 build_wait: float = 20.0) -> None:
        self.region = connections.region
        self._conns = connections
        self._network = server_network
        self._build_wait = build_wait

    def advance(self) -> int:
        """Nothing to tick: the real cloud runs its own tasks (kept for `Container.tick`)."""
        return 0

    def _p(self, project_id: str) -> Any:
        return self._conns.project(project_id)

    # ---- flavors and images ---------------------------------------------------------------

    def list_flavors(self) -> Sequence[Flavor]:
        with translating("flavors"):
            return [_flavor(f) for f in self._conns.admin().compute.flavors(details=True)]

    def get_flavor(self, flavor_id: str) -> Flavor:
        with translating(f"flavor {flavor_id}"):
            return _flavor(self._conns.admin().compute.get_flavor(flavor_id))

    def list_images(self, project_id: str) -> Sequence[Image]:
        with translating("images"):
            return [_image(i) for i in self._p(project_id).image.images()]

    def get_image(self, project_id: str, image_id: str) -> Image:
        with translating(f"image {image_id}"):
            return _image(self._p(project_id).image.get_image(image_id))

    def delete_image(self, project_id: str, image_id: str) -> None:
        image = self.get_image(project_id, image_id)
        if image.owner_project_id != project_id:  # Glance refuses it the same way
            raise Forbidden("You are not permitted to delete this image.")
        with translating(f"image {image_id}"):
            self._p(project_id).image.delete_image(image_id)

    # ---- key pairs ------------------------------------------------------------------------

    def list_keypairs(self, project_id: str) -> Sequence[KeyPair]:
        """The project's pairs; each read on its own, as Nova's list leaves out `created_at`."""
        prefix = _key_prefix(project_id)
        conn = self._p(project_id)
        with translating("key pairs"):
            names = [k.name for k in conn.compute.keypairs() if k.name.startswith(prefix)]
            found = [k for k in (_keypair_record(conn, n) for n in names) if k is not None]
        return [_keypair(k, prefix) for k in found]

    def create_keypair(self, project_id: str, name: str, public_key: str | None) -> KeyPair:
        keys.validate_name(name)
        generated = keys.generate(f"sws-{name}") if public_key is None else None
        public = generated.public_key if generated else keys.validate_public_key(public_key or "")
        conn = self._p(project_id)
        with translating(f"key pair {name}"):
            made = conn.compute.create_keypair(name=_key_prefix(project_id) + name,
                                               public_key=public)
            made = _keypair_record(conn, made.name) or made  # the answer has no created_at
        pair = _keypair(made, _key_prefix(project_id))
        if generated is None:
            return pair
        return replace(pair, private_key=generated.private_key)

    def delete_keypair(self, project_id: str, name: str) -> None:
        with translating(f"key pair {name}"):
            self._p(project_id).compute.delete_keypair(
                _key_prefix(project_id) + name, ignore_missing=False
            )

    # ---- security groups ------------------------------------------------------------------

    def list_security_groups(self, project_id: str) -> Sequence[SecurityGroup]:
        with translating("security groups"):
            found = self._p(project_id).network.security_groups(project_id=project_id)
            return [_group(g) for g in found]

    def get_security_group(self, project_id: str, group_id: str) -> SecurityGroup:
        with translating(f"security group {group_id}"):
            group = _group(self._p(project_id).network.get_security_group(group_id))
        if group.project_id != project_id:
            raise NotFound(f"security group {group_id} not found")
        return group

    def create_security_group(
        self, project_id: str, name: str, description: str
    ) -> SecurityGroup:
        with translating(f"security group {name}"):
            made = self._p(project_id).network.create_security_group(
                name=name, description=description
            )
        return _group(made)

    def delete_security_group(self, project_id: str, group_id: str) -> None:
        self.get_security_group(project_id, group_id)
        with translating(f"security group {group_id}"):
            self._p(project_id).network.delete_security_group(group_id, ignore_missing=False)

    def add_security_group_rule(
        self, project_id: str, group_id: str, rule: SecurityGroupRuleCreate
    ) -> SecurityGroupRule:
        self.get_security_group(project_id, group_id)
        with translating(f"a rule of security group {group_id}"):
            made = self._p(project_id).network.create_security_group_rule(
                security_group_id=group_id, direction=rule.direction, ether_type=rule.ethertype,
                protocol=rule.protocol, port_range_min=rule.port_range_min,
                port_range_max=rule.port_range_max, remote_ip_prefix=rule.remote_ip_prefix,
            )
        return _rule(made)

    def delete_security_group_rule(self, project_id: str, rule_id: str) -> None:
        with translating(f"security group rule {rule_id}"):
            conn = self._p(project_id)
            rule = conn.network.get_security_group_rule(rule_id)
            if rule.project_id != project_id:
                raise NotFound(f"security group rule {rule_id} not found")
            conn.network.delete_security_group_rule(rule_id, ignore_missing=False)

    # ---- servers --------------------------------------------------------------------------

    def list_servers(
        self, project_id: str, filters: ServerFilter, limit: int, marker: str | None
    ) -> Sequence[Server]:
        query = _server_query(filters, limit, marker)
        return self._servers(self._project_servers(project_id, query, limit))

    def list_server_briefs(
        self, project_id: str, limit: int, filters: ServerFilter = ServerFilter()
    ) -> Sequence[ServerBrief]:
        """Nova has no lighter list than the detailed one (a brief needs the status and the
        addresses): the same `GET /servers/detail` as `list_servers`, mapped to briefs only."""
        query = _server_query(filters, limit, None)
        return [_brief(s) for s in self._project_servers(project_id, query, limit)
                if s.status != "DELETED"]

    def count_servers(self, project_id: str) -> Mapping[str, int]:
        """Nova has no count API: this reads every page of the project's detailed list (the
        list `list_servers` reads one page of) and counts its statuses here."""
        found = self._project_servers(project_id, {}, None)
        return dict(Counter(s.status or "" for s in found if s.status != "DELETED"))

    def _project_servers(
        self, project_id: str, query: dict[str, Any], limit: int | None
    ) -> list[Any]:
        """The SDK's detailed servers of the project: at most `limit`, or every page (None)."""
        with translating("servers"):
            pages = self._p(project_id).compute.servers(details=True, **query)
            found = list(pages if limit is None else islice(pages, limit))
        return [s for s in found if s.project_id == project_id]

    def get_server(self, project_id: str, server_id: str) -> Server:
        return self._servers([self._own_server(self._p(project_id), project_id, server_id)])[0]

    def create_servers(
        self, project_id: str, user_id: str, spec: ServerCreate
    ) -> Sequence[Server]:
        conn = self._p(project_id)
        args = self._create_args(conn, project_id, spec)
        made = []
        for index in range(spec.count):
            name = spec.name if spec.count == 1 else f"{spec.name}-{index + 1}"
            with translating(f"a server of flavor {spec.flavor_id}"):
                made.append(conn.compute.create_server(name=name, **args))
        return self._servers([self._settled(conn, s.id) for s in made])

    def _create_args(self, conn: Any, project_id: str, spec: ServerCreate) -> dict[str, Any]:
        key_name = _key_prefix(project_id) + spec.key_name if spec.key_name else None
        check_boot(conn, project_id, spec, key_name)
        args: dict[str, Any] = {"flavor_id": spec.flavor_id, "image_id": spec.image_id,
                                "networks": self._networks(conn)}
        if key_name:
            args["key_name"] = key_name
        if args["networks"] != "none" and spec.security_groups:
            args["security_groups"] = [{"name": g} for g in spec.security_groups]
        return args

    def _networks(self, conn: Any) -> Any:
        if self._network in ("none", "auto"):
            return self._network
        with translating(f"network {self._network}"):
            network = conn.network.find_network(self._network, ignore_missing=False)
        return [{"uuid": network.id}]

    def _settled(self, conn: Any, server_id: str) -> Any:
        """Wait (bounded) until the server leaves BUILD; an ERROR at boot becomes a 409."""
        deadline = time.monotonic() + self._build_wait
        server = self._fetch(conn, server_id)
        while server.status == "BUILD" and time.monotonic() < deadline:
            time.sleep(0.5)
            server = self._fetch(conn, server_id)
        if server.status == "ERROR":
            fault = (server.fault or {}).get("message") or "the server failed to build"
            with translating(f"server {server_id}"):
                conn.compute.delete_server(server_id, ignore_missing=True)
            raise Conflict(fault)
        return server

    def server_action(
        self,
        project_id: str,
        server_id: str,
        action: ServerActionName,
        flavor_id: str | None = None,
    ) -> Server:
        conn = self._p(project_id)
        self._own_server(conn, project_id, server_id)
        compute = conn.compute
        calls: dict[str, Any] = {
            "start": lambda: compute.start_server(server_id),
            "stop": lambda: compute.stop_server(server_id),
            "reboot": lambda: compute.reboot_server(server_id, "SOFT"),
            "resize": lambda: compute.resize_server(server_id, _need(flavor_id)),
            "confirm_resize": lambda: compute.confirm_server_resize(server_id),
            "revert_resize": lambda: compute.revert_server_resize(server_id),
            "shelve": lambda: compute.shelve_server(server_id),
            "unshelve": lambda: compute.unshelve_server(server_id),
        }
        if action not in calls:
            raise Invalid(f"unknown action {action!r}", field="action")
        with translating(f"{action} of server {server_id}"):
            calls[action]()
        return self.get_server(project_id, server_id)

    def rename_server(self, project_id: str, server_id: str, name: str) -> Server:
        """Nova's `PUT /servers/{id}` with the new name."""
        conn = self._p(project_id)
        self._own_server(conn, project_id, server_id)
        with translating(f"the name of server {server_id}"):
            conn.compute.update_server(server_id, name=name)
        return self.get_server(project_id, server_id)

    def rebuild_server(self, project_id: str, server_id: str, image_id: str) -> Server:
        """Nova's rebuild action: same id, IPs and flavor, a fresh disk from `image_id`."""
        conn = self._p(project_id)
        self._own_server(conn, project_id, server_id)
        with translating(f"a rebuild of server {server_id}"):
            conn.compute.rebuild_server(server_id, image=image_id)
        return self.get_server(project_id, server_id)

    def create_snapshot(self, project_id: str, server_id: str, name: str) -> Image:
        conn = self._p(project_id)
        self._own_server(conn, project_id, server_id)
        with translating(f"a snapshot of server {server_id}"):
            image = conn.compute.create_server_image(server_id, name, wait=False)
            image_id = image if isinstance(image, str) else image.id
        return self.get_image(project_id, image_id)

    def delete_server(self, project_id: str, server_id: str) -> None:
        conn = self._p(project_id)
        self._own_server(conn, project_id, server_id)
        with translating(f"server {server_id}"):
            conn.compute.delete_server(server_id, ignore_missing=False)

    def console_output(self, project_id: str, server_id: str, length: int | None) -> Sequence[str]:
        """Nova's os-getConsoleOutput: the last `length` lines of the serial console log."""
        conn = self._p(project_id)
        self._own_server(conn, project_id, server_id)
        with translating(f"the console output of server {server_id}"):
            found = conn.compute.get_server_console_output(server_id, length=length)
        return str((found or {}).get("output") or "").splitlines()

    def remote_console(self, project_id: str, server_id: str) -> RemoteConsole:
        """Nova's remote-console API (POST /servers/{id}/remote-consoles): a noVNC URL."""
        conn = self._p(project_id)
        self._own_server(conn, project_id, server_id)
        with translating(f"the remote console of server {server_id}"):
            found = conn.compute.create_server_remote_console(
                server_id, protocol="vnc", type="novnc"
            )
        return RemoteConsole(protocol="vnc", type="novnc", url=str(found.url))

    def _fetch(self, conn: Any, server_id: str) -> Any:
        with translating(f"server {server_id}"):
            return conn.compute.get_server(server_id)

    def _own_server(self, conn: Any, project_id: str, server_id: str) -> Any:
        """The SDK's server, if it is `project_id`'s; another project's is not found."""
        server = self._fetch(conn, server_id)
        if server.project_id != project_id:
            raise NotFound(f"server {server_id} not found")
        return server

    def _servers(self, raws: Sequence[Any]) -> list[Server]:
        """Map SDK servers; Nova (2.47+) embeds a server's flavor by name only, without its id,
        so the flavor list that resolves names to ids is fetched once, and only when needed."""
        ids = self._flavor_ids() if any(not raw.flavor.id for raw in raws) else {}
        return [_server(raw, ids) for raw in raws]

    def _flavor_ids(self) -> dict[str, str]:
        return {f.name: f.id for f in self.list_flavors()}

    # ---- floating IPs ---------------------------------------------------------------------

    def list_floating_ips(self, project_id: str) -> Sequence[FloatingIP]:
        with translating("floating IPs"):
            found = self._p(project_id).network.ips(project_id=project_id)
            return [_floating_ip(f) for f in found]

    def _own_ip(self, project_id: str, floating_ip_id: str) -> Any:
        with translating(f"floating IP {floating_ip_id}"):
            found = self._p(project_id).network.get_ip(floating_ip_id)
        if found.project_id != project_id:
            raise NotFound(f"floating IP {floating_ip_id} not found")
        return found

    def allocate_floating_ip(self, project_id: str) -> FloatingIP:
        conn = self._p(project_id)
        with translating("a floating IP"):
            nets = list(conn.network.networks(is_router_external=True))
            if not nets:
                raise Conflict("this region has no external network for floating IPs")
            return _floating_ip(conn.network.create_ip(floating_network_id=nets[0].id))

    def associate_floating_ip(
        self, project_id: str, floating_ip_id: str, server_id: str
    ) -> FloatingIP:
        fip = self._own_ip(project_id, floating_ip_id)
        conn = self._p(project_id)
        self._own_server(conn, project_id, server_id)
        with translating(f"floating IP {floating_ip_id}"):
            ports = list(conn.network.ports(device_id=server_id))
            if not ports:
                raise Conflict(f"server {server_id} has no port to attach an address to")
            return _floating_ip(conn.network.update_ip(fip, port_id=ports[0].id))

    def disassociate_floating_ip(self, project_id: str, floating_ip_id: str) -> FloatingIP:
        fip = self._own_ip(project_id, floating_ip_id)
        with translating(f"floating IP {floating_ip_id}"):
            return _floating_ip(self._p(project_id).network.update_ip(fip, port_id=None))

    def release_floating_ip(self, project_id: str, floating_ip_id: str) -> None:
        self._own_ip(project_id, floating_ip_id)
        with translating(f"floating IP {floating_ip_id}"):
            self._p(project_id).network.delete_ip(floating_ip_id, ignore_missing=False)

    # ---- quotas and admin views -----------------------------------------------------------

    def quota_usage(self, project_id: str) -> QuotaUsage:
        """Nova's limits, and Neutron's quotas for addresses and groups (Nova's limits API
        stopped carrying network quotas at microversion 2.36)."""
        conn = self._p(project_id)
        with translating("quota usage"):
            limits = conn.compute.get_limits().absolute
            network = self._conns.admin().network.get_quota(project_id)
            fips = list(conn.network.ips(project_id=project_id))
            groups = list(conn.network.security_groups(project_id=project_id))
        quota = Quota(
            instances=_int(limits.instances), cores=_int(limits.total_cores),
            ram_mb=_int(limits.total_ram), floating_ips=_int(network.floating_ips),
            security_groups=_int(network.security_groups), key_pairs=_int(limits.keypairs),
        )
        return QuotaUsage(
            limits=quota, instances=_int(limits.instances_used),
            cores=_int(limits.total_cores_used), ram_mb=_int(limits.total_ram_used),
            floating_ips=len(fips), security_groups=len(groups),
            key_pairs=len(self.list_keypairs(project_id)),
        )

    def set_quota(self, project_id: str, quota: Quota) -> None:
        """Nova's quota set (compute) and Neutron's quota (addresses, groups), as the admin."""
        admin = self._conns.admin()
        with translating("quota update"):
            admin.compute.update_quota_set(
                project_id, instances=quota.instances, cores=quota.cores, ram=quota.ram_mb,
                key_pairs=quota.key_pairs,
            )
            admin.network.update_quota(
                project_id, floatingip=quota.floating_ips, security_group=quota.security_groups
            )

    def list_hypervisors(self) -> Sequence[Hypervisor]:
        """Nova's hypervisors with their servers; capacity from Placement where Nova (2.88+)
        no longer reports it (`capacity`)."""
        admin = self._conns.admin()
        with translating("hypervisors"):
            found = list(admin.compute.hypervisors(details=True, with_servers=True))
            return [_hypervisor(h, capacity(admin, h)) for h in found]

    def list_all_servers(
        self, filters: ServerFilter, limit: int, marker: str | None
    ) -> Sequence[Server]:
        query = _server_query(filters, limit, marker)
        if filters.host:
            query["host"] = filters.host
        if filters.project_id:
            query["project_id"] = filters.project_id
        with translating("servers"):
            found = list(islice(self._conns.admin().compute.servers(
                details=True, all_projects=True, **query
            ), limit))
        return self._servers(found[:limit])

    def live_servers(self) -> Sequence[Any]:
        """Every server Nova lists in this region, as admin (all projects, all pages)."""
        with translating("servers"):
            return list(self._conns.admin().compute.servers(details=True, all_projects=True))

    def deleted_servers(self, changes_since: datetime) -> Sequence[Any]:
        """Servers deleted since `changes_since`, as admin (Nova keeps them, soft-deleted)."""
        with translating("deleted servers"):
            return list(self._conns.admin().compute.servers(
                details=True, all_projects=True, deleted=True,
                changes_since=changes_since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ))

    def all_floating_ip_ids(self) -> set[str]:
        with translating("floating IPs"):
            return {f.id for f in self._conns.admin().network.ips()}


# ---- mapping ------------------------------------------------------------------------------


def _need(flavor_id: str | None) -> str:
    if not flavor_id:
        raise Invalid("resize needs flavor_id", field="flavor_id")
    return flavor_id


def _key_prefix(project_id: str) -> str:
    return f"sws-{project_id}-"


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int) and value >= 0 else 0


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _flavor(f: Any) -> Flavor:
    return Flavor(
        id=str(f.id or f.name), name=str(f.name or f.original_name), vcpus=_int(f.vcpus),
        ram_mb=_int(f.ram), disk_gb=_int(f.disk), ephemeral_gb=_int(f.ephemeral),
        swap_mb=_int(f.swap or 0), is_public=bool(f.is_public if f.is_public is not None else 1),
    )


def _server_flavor(f: Any, ids: dict[str, str]) -> Flavor:
    name = str(f.original_name or f.name or f.id or "")
    return Flavor(
        id=str(f.id or ids.get(name, name)), name=name, vcpus=_int(f.vcpus), ram_mb=_int(f.ram),
        disk_gb=_int(f.disk), ephemeral_gb=_int(f.ephemeral), swap_mb=_int(f.swap or 0),
    )


def _addresses(addresses: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fixed: list[str] = []
    floating: list[str] = []
    for entries in (addresses or {}).values():
        for entry in entries:
            kind = entry.get("OS-EXT-IPS:type", "fixed")
            (floating if kind == "floating" else fixed).append(str(entry.get("addr")))
    return tuple(fixed), tuple(floating)


def _brief(s: Any) -> ServerBrief:
    fixed, _floating = _addresses(s.addresses)
    return ServerBrief(id=s.id, name=s.name or "", status=s.status or "", fixed_ips=fixed)


def _server(s: Any, flavor_ids: dict[str, str]) -> Server:
    fixed, floating = _addresses(s.addresses)
    image = s.image or {}
    fault = s.fault or {}
    return Server(
        id=s.id, name=s.name or "", project_id=s.project_id, user_id=s.user_id or "",
        flavor=_server_flavor(s.flavor, flavor_ids),
        image_id=str(image.get("id", "") if isinstance(image, dict) else image.id),
        status=s.status or "", vm_state=s.vm_state or "", task_state=s.task_state,
        power_state=POWER_STATES.get(s.power_state or 0, "pending"), host=s.compute_host,
        fixed_ips=fixed, floating_ips=floating, key_name=_unprefixed(s.key_name, s.project_id),
        security_groups=tuple(g.get("name", "") for g in s.security_groups or ()),
        created_at=parse_time(s.created_at) or EPOCH,
        updated_at=parse_time(s.updated_at) or parse_time(s.created_at) or EPOCH,
        launched_at=parse_time(s.launched_at), terminated_at=parse_time(s.terminated_at),
        fault=fault.get("message") if isinstance(fault, dict) else None,
    )


def _unprefixed(key_name: str | None, project_id: str) -> str | None:
    prefix = _key_prefix(project_id)
    if key_name and key_name.startswith(prefix):
        return key_name[len(prefix):]
    return key_name


def _image(i: Any) -> Image:
    """Glance's `image_type` and `instance_uuid` are free-form properties: openstacksdk's Image
    keeps the first under `properties` (it has no such attribute) and maps the second."""
    props = i.properties or {}
    kind = props.get("image_type") or "image"
    return Image(
        id=i.id, name=i.name or "", status=i.status or "", min_disk_gb=_int(i.min_disk),
        min_ram_mb=_int(i.min_ram), size_bytes=_int(i.size), visibility=i.visibility or "",
        owner_project_id=i.owner_id, created_at=parse_time(i.created_at) or EPOCH,
        image_type="snapshot" if kind == "snapshot" else "image",
        source_server_id=getattr(i, "instance_uuid", None) or props.get("instance_uuid"),
    )


def _keypair_record(conn: Any, name: str) -> Any:
    """Nova's record of a pair (with its `created_at`), or None if it went meanwhile."""
    from openstack.exceptions import NotFoundException

    try:
        return conn.compute.get_keypair(name)
    except NotFoundException:
        return None


def _keypair(k: Any, prefix: str) -> KeyPair:
    name = k.name[len(prefix):] if k.name.startswith(prefix) else k.name
    return KeyPair(
        name=name, fingerprint=k.fingerprint or "", public_key=k.public_key or "",
        created_at=parse_time(getattr(k, "created_at", None)) or EPOCH,
        key_type=k.type or "ssh",
    )


def _rule(r: Any) -> SecurityGroupRule:
    return SecurityGroupRule(
        id=r.id, security_group_id=r.security_group_id, direction=r.direction,
        ethertype=r.ether_type or "IPv4", protocol=r.protocol,
        port_range_min=r.port_range_min, port_range_max=r.port_range_max,
        remote_ip_prefix=r.remote_ip_prefix,
    )


def _group(g: Any) -> SecurityGroup:
    rules = tuple(
        _rule(_RuleView(r)) if isinstance(r, dict) else _rule(r)
        for r in g.security_group_rules or ()
    )
    return SecurityGroup(id=g.id, name=g.name or "", description=g.description or "",
                         project_id=g.project_id, rules=rules)


class _RuleView:
    """A rule as Neutron embeds it in its group (a dict), read like the SDK's resource."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.id = raw.get("id")
        self.security_group_id = raw.get("security_group_id")
        self.direction = raw.get("direction")
        self.ether_type = raw.get("ethertype")
        self.protocol = raw.get("protocol")
        self.port_range_min = raw.get("port_range_min")
        self.port_range_max = raw.get("port_range_max")
        self.remote_ip_prefix = raw.get("remote_ip_prefix")


def _floating_ip(f: Any) -> FloatingIP:
    details = f.port_details or {}
    return FloatingIP(
        id=f.id, address=f.floating_ip_address or "", project_id=f.project_id,
        status=f.status or "DOWN", server_id=details.get("device_id") or None,
        fixed_ip=f.fixed_ip_address, created_at=parse_time(f.created_at) or EPOCH,
    )


def _hypervisor(h: Any, cap: Capacity) -> Hypervisor:
    servers = server_ids(h)
    return Hypervisor(
        id=str(h.id), hostname=h.name or "", state=h.state or "", status=h.status or "",
        vcpus=cap.vcpus, vcpus_used=cap.vcpus_used, ram_mb=cap.ram_mb,
        ram_used_mb=cap.ram_used_mb, disk_gb=cap.disk_gb, disk_used_gb=cap.disk_used_gb,
        running_vms=len(servers) if h.running_vms is None else _int(h.running_vms),
        server_ids=servers,
    )


def _server_query(filters: ServerFilter, limit: int, marker: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {"limit": limit}
    if marker:
        query["marker"] = marker
    if filters.name:
        query["name"] = filters.name
    if filters.status:
        query["status"] = filters.status
    if filters.flavor_id:
        query["flavor"] = filters.flavor_id
    if filters.image_id:
        query["image"] = filters.image_id
    return query
