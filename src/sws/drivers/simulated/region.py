"""SimulatedRegion: an in-process, believable OpenStack region behind the `CloudDriver` port.

State lives in the `sim_*` tables, so a restarted `sws up` keeps its cloud. Every public method
is one transaction, serialised by a lock (API threads and a ticker call it concurrently), and
its notifications go on the bus only after that transaction commits. The SQL lives in
`repository` (and the rules in `servers`, `network` and `keys`): this class holds transactions,
the lock, the due-task hint and the order of the steps. Actions start a task now;
`advance()` finishes the tasks whose time has come, stamping their notifications with that time.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row

from sws.clock import Clock
from sws.db.engine import Database
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
from sws.drivers.simulated import console, keys, network, quotas, servers
from sws.drivers.simulated import repository as repo
from sws.drivers.simulated.catalog import (
    FLAVORS,
    FLAVORS_BY_ID,
    IMAGE_SEEDS,
    HostShape,
    hypervisor_names,
    seeded_id,
)
from sws.drivers.simulated.notifications import envelope
from sws.drivers.simulated.repository import Txn
from sws.drivers.simulated.scheduler import AllocationRatios, HostState
from sws.drivers.simulated.states import ensure_allowed
from sws.errors import Conflict, Forbidden, Invalid, NotFound, QuotaExceeded
from sws.events.bus import EventBus

_DUE_BATCH = 500
# How long advance() trusts its hint of the next due task. Another process (an API beside this
# ticker) may have started a task since, so the hint is read again from the database after this.
_HINT_TRUSTED_FOR = timedelta(seconds=2)
_SIMPLE_ACTIONS = frozenset({"stop", "start", "reboot", "revert_resize", "shelve"})


class SimulatedRegion:
    """One simulated region: hypervisors, flavors, images, servers, groups and floating IPs."""

    def __init__(
        self,
        *,
        name: str,
        db: Database,
        clock: Clock,
        bus: EventBus,
        hypervisor_count: int = 4,
        task_seconds: float = 3,
        build_failure_rate: float = 0.0,
        rng: random.Random | None = None,
        quota: Quota = Quota(),
        ratios: AllocationRatios = AllocationRatios(),
        host_shape: HostShape = HostShape(),
        floating_ip_pool: str = "203.0.113.0/24",
    ) -> None:
        self.region = name
        self._db = db
        self._clock = clock
        self._bus = bus
        self._hosts = hypervisor_names(hypervisor_count)
        self._host_shape = host_shape
        self._pool = network.FloatingPool(floating_ip_pool)
        self._settings = servers.ComputeSettings(
            task_seconds=task_seconds,
            ratios=ratios,
            quota=quota,
            build_failure_rate=build_failure_rate,
            rng=rng or random.Random(0),
        )
        self._lock = threading.RLock()
        self._seeded = False
        self._emitted = 0
        # When the next task falls due, if known; lets an idle advance() skip the database.
        self._next_due: datetime | None = None
        self._next_due_known = False
        self._next_due_read_at = datetime.min.replace(tzinfo=UTC)

    # ---- plumbing ----------------------------------------------------------------------------

    @property
    def notifications_emitted(self) -> int:
        """How many notifications this region object has published so far."""
        return self._emitted

    @property
    def quota(self) -> Quota:
        return self._settings.quota

    @contextmanager
    def _write(self) -> Iterator[Txn]:
        """One locked transaction; its notifications are published once it has committed."""
        self.ensure_seeded()
        with self._lock:
            with self._db.begin() as conn:
                txn = Txn(conn=conn, region=self.region, now=self._clock.now())
                yield txn
            self._lower_next_due(txn.earliest_due)
            self._publish(txn.outbox)

    def _lower_next_due(self, when: datetime | None) -> None:
        if when is not None and self._next_due_known:
            self._next_due = when if self._next_due is None else min(self._next_due, when)

    @contextmanager
    def _read(self) -> Iterator[Txn]:
        self.ensure_seeded()
        with self._db.read() as conn:
            yield Txn(conn=conn, region=self.region, now=self._clock.now())

    def _publish(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self._bus.publish(envelope(message))
        self._emitted += len(messages)

    def ensure_seeded(self) -> None:
        """Create the hypervisors and public images on first use; safe to call again."""
        if self._seeded:
            return
        with self._lock, self._db.begin() as conn:
            txn = Txn(conn=conn, region=self.region, now=self._clock.now())
            self._seed_hypervisors(txn)
            self._seed_images(txn)
            self._seeded = True

    def _seed_hypervisors(self, txn: Txn) -> None:
        existing = {row.hostname for row in repo.hypervisor_rows(txn)}
        for hostname in self._hosts:
            if hostname not in existing:
                hypervisor_id = seeded_id(self.region, "hypervisor", hostname)
                repo.insert_hypervisor(txn, hypervisor_id, hostname, self._host_shape)

    def _seed_images(self, txn: Txn) -> None:
        for seed in IMAGE_SEEDS:
            image_id = seeded_id(self.region, "image", seed.name)
            if not repo.image_exists(txn, image_id):
                repo.insert_public_image(txn, image_id, seed)

    # ---- time --------------------------------------------------------------------------------

    def advance(self) -> int:
        """Finish every task due by the clock's now; returns how many tasks finished."""
        now = self._clock.now()
        completed = 0
        while not self._nothing_due(now):
            completed += self._advance_batch(now)
        return completed

    def _nothing_due(self, now: datetime) -> bool:
        with self._lock:
            if not self._next_due_known:
                return False
            if now - self._next_due_read_at >= _HINT_TRUSTED_FOR:
                with self._read() as txn:
                    self._note_next_due(repo.next_due(txn), now)
            return self._next_due is None or now < self._next_due

    def _note_next_due(self, next_due: datetime | None, now: datetime) -> None:
        self._next_due, self._next_due_known, self._next_due_read_at = next_due, True, now

    def _advance_batch(self, now: datetime) -> int:
        """Finish up to a batch of due tasks in one transaction, then note the next due time."""
        with self._lock:
            with self._write() as txn:
                rows = repo.due_servers(txn, now, _DUE_BATCH)
                for row in rows:
                    at_due = Txn(txn.conn, self.region, row.task_due_at, txn.outbox)
                    servers.complete(at_due, self._settings, row)
                next_due = repo.next_due(txn)
            self._note_next_due(next_due, now)
            return len(rows)

    # ---- flavors and images ------------------------------------------------------------------

    def list_flavors(self) -> Sequence[Flavor]:
        return FLAVORS

    def get_flavor(self, flavor_id: str) -> Flavor:
        found = FLAVORS_BY_ID.get(flavor_id)
        if found is None:
            raise NotFound(f"Flavor {flavor_id} could not be found.")
        return found

    def list_images(self, project_id: str) -> Sequence[Image]:
        with self._read() as txn:
            return [repo.to_image(row) for row in repo.visible_images(txn, project_id)]

    def get_image(self, project_id: str, image_id: str) -> Image:
        with self._read() as txn:
            return repo.to_image(self._image_row(txn, project_id, image_id))

    def _image_row(self, txn: Txn, project_id: str, image_id: str) -> Row[Any]:
        row = repo.image_row(txn, project_id, image_id)
        if row is None:
            raise NotFound(f"Image {image_id} could not be found.")
        return row

    def delete_image(self, project_id: str, image_id: str) -> None:
        with self._write() as txn:
            row = self._image_row(txn, project_id, image_id)
            if row.owner_project_id != project_id:
                raise Forbidden("You are not permitted to delete this image.")
            repo.mark_image_deleted(txn, image_id)

    # ---- key pairs ---------------------------------------------------------------------------

    def list_keypairs(self, project_id: str) -> Sequence[KeyPair]:
        with self._read() as txn:
            return [repo.to_keypair(row) for row in repo.keypair_rows(txn, project_id)]

    def create_keypair(self, project_id: str, name: str, public_key: str | None) -> KeyPair:
        """Import `public_key`, or generate an ed25519 pair whose private key is returned once."""
        keys.validate_name(name)
        generated = keys.generate("Generated-by-SWS") if public_key is None else None
        text = generated.public_key if generated else keys.validate_public_key(public_key or "")
        with self._write() as txn:
            self._check_keypair_room(txn, project_id, name)
            stored = KeyPair(
                name=name,
                fingerprint=keys.fingerprint(text),
                public_key=text,
                created_at=txn.now,
                key_type="ssh",
            )
            repo.insert_keypair(txn, project_id, stored)
        if generated is None:
            return stored
        return replace(stored, private_key=generated.private_key)

    def _check_keypair_room(self, txn: Txn, project_id: str, name: str) -> None:
        if repo.keypair_row(txn, project_id, name) is not None:
            raise Conflict(f"Key pair '{name}' already exists.", field="name")
        limit = self._quota(txn, project_id).key_pairs
        if repo.count_owned(txn, "key_pairs", project_id) >= limit:
            raise QuotaExceeded(f"Quota exceeded, too many key pairs (limit {limit}).")

    def delete_keypair(self, project_id: str, name: str) -> None:
        with self._write() as txn:
            if repo.keypair_row(txn, project_id, name) is None:
                raise NotFound(f"Keypair {name} not found for project {project_id}.")
            repo.delete_keypair(txn, project_id, name)

    # ---- security groups ---------------------------------------------------------------------

    def list_security_groups(self, project_id: str) -> Sequence[SecurityGroup]:
        with self._write() as txn:
            network.ensure_default_group(txn, project_id)
            return repo.security_groups_out(txn, network.group_rows(txn, project_id))

    def get_security_group(self, project_id: str, group_id: str) -> SecurityGroup:
        with self._write() as txn:
            network.ensure_default_group(txn, project_id)
            return self._group_out(txn, project_id, group_id)

    def _group_out(self, txn: Txn, project_id: str, group_id: str) -> SecurityGroup:
        row = network.group_row(txn, project_id, group_id)
        return repo.security_groups_out(txn, [row])[0]

    def create_security_group(self, project_id: str, name: str, description: str) -> SecurityGroup:
        with self._write() as txn:
            network.ensure_default_group(txn, project_id)
            used = repo.count_owned(txn, "security_groups", project_id)
            if used >= self._quota(txn, project_id).security_groups:
                raise QuotaExceeded("Quota exceeded for resources: ['security_group'].")
            group_id = network.create_group(txn, project_id, name, description)
            return self._group_out(txn, project_id, group_id)

    def delete_security_group(self, project_id: str, group_id: str) -> None:
        with self._write() as txn:
            network.delete_group(txn, project_id, group_id)

    def add_security_group_rule(
        self, project_id: str, group_id: str, rule: SecurityGroupRuleCreate
    ) -> SecurityGroupRule:
        with self._write() as txn:
            rule_id = network.add_rule(txn, project_id, group_id, rule)
            return repo.to_rule(network.rule_row(txn, project_id, rule_id))

    def delete_security_group_rule(self, project_id: str, rule_id: str) -> None:
        with self._write() as txn:
            repo.delete_rule(txn, network.rule_row(txn, project_id, rule_id).id)

    # ---- servers -----------------------------------------------------------------------------

    def list_servers(
        self, project_id: str, filters: ServerFilter, limit: int, marker: str | None
    ) -> Sequence[Server]:
        with self._read() as txn:
            return self._list_servers(txn, project_id, filters, limit, marker)

    def list_server_briefs(
        self, project_id: str, limit: int, filters: ServerFilter = ServerFilter()
    ) -> Sequence[ServerBrief]:
        """The project's live servers in brief, newest first: five columns of each row, no
        flavor, floating IPs or security groups to build."""
        _check_limit(limit)
        with self._read() as txn:
            return repo.server_briefs(txn, project_id, limit, filters)

    def count_servers(self, project_id: str) -> Mapping[str, int]:
        """The project's live servers by API status, counted in SQL."""
        with self._read() as txn:
            return repo.status_counts(txn, project_id)

    def list_all_servers(
        self, filters: ServerFilter, limit: int, marker: str | None
    ) -> Sequence[Server]:
        with self._read() as txn:
            return self._list_servers(txn, filters.project_id, filters, limit, marker)

    def _list_servers(
        self,
        txn: Txn,
        project_id: str | None,
        filters: ServerFilter,
        limit: int,
        marker: str | None,
    ) -> list[Server]:
        _check_limit(limit)
        below = None if marker is None else self._marker_number(txn, project_id, marker)
        return repo.servers_out(txn, repo.server_page(txn, project_id, filters, limit, below))

    def _marker_number(self, txn: Txn, project_id: str | None, marker: str) -> int:
        try:
            return int(repo.server_row(txn, marker, project_id).number)
        except NotFound as error:
            raise Invalid(f"marker [{marker}] not found", field="marker") from error

    def get_server(self, project_id: str, server_id: str) -> Server:
        with self._read() as txn:
            return self._server_out(txn, server_id, project_id)

    def _server_out(self, txn: Txn, server_id: str, project_id: str | None) -> Server:
        return repo.servers_out(txn, [repo.server_row(txn, server_id, project_id)])[0]

    def create_servers(self, project_id: str, user_id: str, spec: ServerCreate) -> Sequence[Server]:
        """Validate, check quota and place synchronously; nothing is written on failure."""
        servers.validate_spec(spec)
        chosen = servers.lookup_flavor(spec.flavor_id)
        with self._write() as txn:
            servers.validate_image_fits(txn, project_id, spec.image_id, chosen)
            keypair = self._keypair_for_build(txn, project_id, spec.key_name)
            network.ensure_default_group(txn, project_id)
            groups = network.resolve_group_names(txn, project_id, spec.security_groups)
            request = servers.BuildRequest(chosen, spec.image_id, keypair, groups)
            ids = servers.create(txn, self._settings, project_id, user_id, spec, request)
            return [self._server_out(txn, server_id, project_id) for server_id in ids]

    def _keypair_for_build(self, txn: Txn, project_id: str, name: str | None) -> KeyPair | None:
        if name is None:
            return None
        row = repo.keypair_row(txn, project_id, name)
        if row is None:
            raise Invalid(f"Invalid key_name provided: {name}", field="key_name")
        return repo.to_keypair(row)

    def server_action(
        self,
        project_id: str,
        server_id: str,
        action: ServerActionName,
        flavor_id: str | None = None,
    ) -> Server:
        with self._write() as txn:
            row = repo.server_row(txn, server_id, project_id)
            self._act(txn, row, action, flavor_id)
            return self._server_out(txn, server_id, project_id)

    def _act(self, txn: Txn, row: Row[Any], action: str, flavor_id: str | None) -> None:
        if action in _SIMPLE_ACTIONS:
            ensure_allowed(action, row.id, row.vm_state, row.task_state)
            servers.begin_task(txn, self._settings, row, action)
        elif action == "resize":
            servers.resize(txn, self._settings, row, flavor_id)
        elif action == "confirm_resize":
            servers.confirm_resize(txn, row)
        elif action == "unshelve":
            servers.unshelve(txn, self._settings, row)
        else:
            raise Invalid(f"Unknown server action {action!r}.", field="action")

    def rename_server(self, project_id: str, server_id: str, name: str) -> Server:
        with self._write() as txn:
            servers.rename(txn, repo.server_row(txn, server_id, project_id), name)
            return self._server_out(txn, server_id, project_id)

    def rebuild_server(self, project_id: str, server_id: str, image_id: str) -> Server:
        """REBUILD while the task runs, then back to ACTIVE (or SHUTOFF) on the new image."""
        with self._write() as txn:
            servers.rebuild(txn, self._settings, repo.server_row(txn, server_id, project_id),
                            image_id)
            return self._server_out(txn, server_id, project_id)

    def create_snapshot(self, project_id: str, server_id: str, name: str) -> Image:
        with self._write() as txn:
            row = repo.server_row(txn, server_id, project_id)
            image_id = servers.snapshot(txn, self._settings, row, name)
            return repo.to_image(self._image_row(txn, project_id, image_id))

    def delete_server(self, project_id: str, server_id: str) -> None:
        with self._write() as txn:
            row = repo.server_row(txn, server_id, project_id)
            servers.delete(txn, self._settings, row)

    def console_output(self, project_id: str, server_id: str, length: int | None) -> Sequence[str]:
        with self._read() as txn:
            server = self._server_out(txn, server_id, project_id)
            image = repo.image_row(txn, project_id, server.image_id)
        subject = console.ConsoleSubject(server, image.name if image is not None else "linux")
        return console.last_lines(console.boot_log(subject), length)

    def remote_console(self, project_id: str, server_id: str) -> RemoteConsole:
        """The simulated serial console, which SWS serves itself (so it has no URL here)."""
        server = self.get_server(project_id, server_id)
        if server.power_state != "running":
            raise Conflict(f"Instance {server_id} is not running, so its console is closed.")
        return RemoteConsole(protocol="simulated", type="simulated", url=None)

    # ---- floating IPs ------------------------------------------------------------------------

    def list_floating_ips(self, project_id: str) -> Sequence[FloatingIP]:
        with self._read() as txn:
            return [repo.to_floating_ip(row) for row in network.floating_out(txn, project_id)]

    def allocate_floating_ip(self, project_id: str) -> FloatingIP:
        with self._write() as txn:
            limit = self._quota(txn, project_id).floating_ips
            if repo.count_owned(txn, "floating_ips", project_id) >= limit:
                raise QuotaExceeded("Quota exceeded for resources: ['floatingip'].")
            floating_ip_id = network.allocate(txn, self._pool, project_id)
            return self._floating_out(txn, project_id, floating_ip_id)

    def _floating_out(self, txn: Txn, project_id: str, floating_ip_id: str) -> FloatingIP:
        return repo.to_floating_ip(network.floating_row(txn, project_id, floating_ip_id))

    def associate_floating_ip(
        self, project_id: str, floating_ip_id: str, server_id: str
    ) -> FloatingIP:
        with self._write() as txn:
            row = network.floating_row(txn, project_id, floating_ip_id)
            server = repo.server_row(txn, server_id, project_id)
            network.associate(txn, row, server)
            return self._floating_out(txn, project_id, floating_ip_id)

    def disassociate_floating_ip(self, project_id: str, floating_ip_id: str) -> FloatingIP:
        with self._write() as txn:
            network.disassociate(txn, network.floating_row(txn, project_id, floating_ip_id))
            return self._floating_out(txn, project_id, floating_ip_id)

    def release_floating_ip(self, project_id: str, floating_ip_id: str) -> None:
        with self._write() as txn:
            network.release(txn, network.floating_row(txn, project_id, floating_ip_id))

    # ---- quotas and admin views --------------------------------------------------------------

    def quota_usage(self, project_id: str) -> QuotaUsage:
        with self._read() as txn:
            compute = repo.compute_usage(txn, project_id)
            return QuotaUsage(
                limits=self._quota(txn, project_id),
                instances=compute.instances,
                cores=compute.cores,
                ram_mb=compute.ram_mb,
                floating_ips=repo.count_owned(txn, "floating_ips", project_id),
                security_groups=repo.count_owned(txn, "security_groups", project_id),
                key_pairs=repo.count_owned(txn, "key_pairs", project_id),
            )

    def set_quota(self, project_id: str, quota: Quota) -> None:
        with self._write() as txn:
            quotas.set_project_quota(txn, project_id, quota)

    def _quota(self, txn: Txn, project_id: str) -> Quota:
        return quotas.project_quota(txn, project_id, self.quota)

    def list_hypervisors(self) -> Sequence[Hypervisor]:
        with self._read() as txn:
            states = {state.hostname: state for state in repo.host_states(txn)}
            placed = repo.servers_by_host(txn)
            return [
                _hypervisor(row, states[row.hostname], placed.get(row.hostname, []))
                for row in repo.hypervisor_rows(txn)
            ]


def _check_limit(limit: int) -> None:
    if limit < 0:
        raise Invalid("limit must be zero or more.", field="limit")


def _hypervisor(row: Row[Any], state: HostState, server_ids: list[str]) -> Hypervisor:
    return Hypervisor(
        id=row.id,
        hostname=row.hostname,
        state=row.state,
        status=row.status,
        vcpus=row.vcpus,
        vcpus_used=state.vcpus_used,
        ram_mb=row.ram_mb,
        ram_used_mb=state.ram_used_mb,
        disk_gb=row.disk_gb,
        disk_used_gb=state.disk_used_gb,
        running_vms=len(server_ids),
        server_ids=tuple(server_ids),
    )
