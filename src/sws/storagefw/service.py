"""Object storage use cases: containers, small objects and each container's firewall.

Every function takes the region's `ObjectStore` (the simulated store, or Swift) and the caller's
project; names are checked here with Swift's own limits, and firewall input is validated by
`FirewallRules` (the format the proxy middleware reads) before anything is written, so a bad
update changes nothing. `StorageBilling` reports usage to billing's `object_storage` item.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sws.billing.ports import StorageUsage
from sws.drivers.base import ContainerInfo, ContainerUsage, ObjectInfo, ObjectStore, StoredObject
from sws.errors import Invalid
from sws.storagefw.model import FirewallRules, Limit, RuleError, check_entries

MAX_CONTAINER_NAME = 256  # bytes, Swift's constraint
MAX_OBJECT_NAME = 1024
BYTES_PER_GB = Decimal(10) ** 9
MAX_LIMIT = 10**9  # requests or MB per source IP per window: 1 PB a day is past any real use
REPLACEMENT = "\ufffd"  # what a lossy decoder puts where bytes were not UTF-8


def _check_name(name: str, *, field: str, limit: int) -> str:
    size = len(name.encode())
    if not 0 < size <= limit:
        raise Invalid(f"must be 1 to {limit} bytes of UTF-8, got {size}", field=field)
    if field == "name" and "/" in name:
        raise Invalid("a container name cannot contain '/'", field=field)
    if field == "name" and name in (".", ".."):
        raise Invalid(f"{name!r} names a path step, not a container", field=field)
    if any(ord(ch) < 32 for ch in name):
        raise Invalid("control characters are not allowed", field=field)
    if REPLACEMENT in name:
        raise Invalid("U+FFFD stands for bytes lost in decoding; send the name as UTF-8",
                      field=field)
    return name


def container_name(name: str) -> str:
    return _check_name(name, field="name", limit=MAX_CONTAINER_NAME)


def object_name(name: str) -> str:
    return _check_name(name, field="object", limit=MAX_OBJECT_NAME)


# ---- containers and objects -----------------------------------------------------------------


def list_containers(*, store: ObjectStore, project_id: str) -> Sequence[ContainerInfo]:
    return store.list_containers(project_id)


def get_container(*, store: ObjectStore, project_id: str, name: str) -> ContainerInfo:
    return store.get_container(project_id, container_name(name))


def create_container(*, store: ObjectStore, project_id: str, name: str) -> ContainerInfo:
    return store.create_container(project_id, container_name(name))


def delete_container(*, store: ObjectStore, project_id: str, name: str) -> None:
    store.delete_container(project_id, container_name(name))


def list_objects(
    *, store: ObjectStore, project_id: str, container: str, client_ip: str, prefix: str = "",
    limit: int = 1000, marker: str | None = None,
) -> Sequence[ObjectInfo]:
    return store.list_objects(
        project_id, container_name(container), client_ip=client_ip, prefix=prefix, limit=limit,
        marker=marker,
    )


def put_object(
    *, store: ObjectStore, project_id: str, container: str, name: str, data: bytes,
    content_type: str, client_ip: str,
) -> ObjectInfo:
    return store.put_object(
        project_id, container_name(container), object_name(name), data,
        content_type=content_type or "application/octet-stream", client_ip=client_ip,
    )


def get_object(
    *, store: ObjectStore, project_id: str, container: str, name: str, client_ip: str
) -> StoredObject:
    return store.get_object(
        project_id, container_name(container), object_name(name), client_ip=client_ip
    )


def delete_object(
    *, store: ObjectStore, project_id: str, container: str, name: str, client_ip: str
) -> None:
    store.delete_object(
        project_id, container_name(container), object_name(name), client_ip=client_ip
    )


# ---- firewall -------------------------------------------------------------------------------


def get_firewall(*, store: ObjectStore, project_id: str, container: str) -> FirewallRules:
    return store.get_firewall(project_id, container_name(container))


def firewall_rules(
    *, allow: Sequence[str], deny: Sequence[str], exclusive: bool,
    limits: Sequence[Mapping[str, Any]],
) -> FirewallRules:
    """Validate a tenant's input into rules; `Invalid` names the field (e.g. `allow`)."""
    for item in limits:
        _bounded(item)
    try:
        check_entries("allow", allow)
        check_entries("deny", deny)
        return FirewallRules(
            allow=tuple(allow), deny=tuple(deny), exclusive=exclusive,
            limits=tuple(
                Limit(kind=item["kind"], window=item["window"], amount=item["amount"])
                for item in limits
            ),
        )
    except RuleError as exc:
        raise Invalid(exc.reason, field=exc.field) from None


def _bounded(limit: Mapping[str, Any]) -> None:
    amount = limit.get("amount")
    if isinstance(amount, int) and amount > MAX_LIMIT:
        raise Invalid(
            f"a limit is at most {MAX_LIMIT:,} requests or MB per window, got {amount}",
            field=f"limits.{limit.get('kind')}/{limit.get('window')}",
        )


def set_firewall(
    *, store: ObjectStore, project_id: str, container: str, rules: FirewallRules
) -> FirewallRules:
    """Replace the container's firewall (empty rules remove it); returns what is stored."""
    name = container_name(container)
    store.set_firewall(project_id, name, rules)
    return store.get_firewall(project_id, name)


# ---- usage for billing ----------------------------------------------------------------------


def gb_month(byte_seconds: int, hour_start: datetime) -> Decimal:
    """GB-months in `byte_seconds`: 10^9 bytes kept for every second of that calendar month."""
    days = calendar.monthrange(hour_start.year, hour_start.month)[1]
    return Decimal(byte_seconds) / (BYTES_PER_GB * days * 86400)


@dataclass
class StorageBilling:
    """Billing's `ObjectStorageSource` over every region's object store."""

    stores: Callable[[], Mapping[str, ObjectStore]]

    def usage(self, *, start: datetime, end: datetime) -> list[ContainerUsage]:
        return [u for store in self.stores().values() for u in store.usage(start=start, end=end)]

    def storage(self, *, start: datetime, end: datetime) -> Iterable[StorageUsage]:
        return [
            StorageUsage(
                project_id=u.project_id, container=u.container, hour_start=u.hour_start,
                gb_month=gb_month(u.byte_seconds, u.hour_start), requests=u.requests,
                region=u.region, bytes_out=u.bytes_out,
            )
            for u in self.usage(start=start, end=end)
        ]
