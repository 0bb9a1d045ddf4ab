"""Tag use cases: show, replace, add and remove a resource's tags (audited), and filter by tag.

A tag is only ever read or written after the region's driver (or the load balancer service)
says the resource is the caller's: another tenant's id, or a deleted resource, is NotFound.
Tags of deleted resources are never shown: lists filter the region's existing resources, and
every id SWS tags is a UUID that is never reused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import Connection

from sws.audit import repository as audit_repo
from sws.audit.model import AuditRecord, check_record
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver
from sws.drivers.volumes import BlockStorage
from sws.errors import NotFound
from sws.identity.model import Principal
from sws.tags import repository as repo
from sws.tags.model import Kind, Tag, check_kind, parse_tag, parse_tags, with_tag, without_tag

T = TypeVar("T")
PAGE = 1000  # servers fetched per driver call while filtering by tag


class Owners(Protocol):
    def region_of(self, tenant_id: str, region: str, kind: Kind, resource_id: str) -> str:
        """The region where the tenant's resource lives; NotFound if it is not the tenant's."""
        ...


@dataclass(frozen=True)
class RegionOwners:
    """Ownership through each region's drivers; load balancers through their own service."""

    driver: Callable[[str], CloudDriver]
    block_storage: Callable[[str], BlockStorage]
    loadbalancer_region: Callable[[str, str], str]  # (tenant, lb id) -> its region

    def region_of(self, tenant_id: str, region: str, kind: Kind, resource_id: str) -> str:
        if kind == "servers":
            if self.driver(region).get_server(tenant_id, resource_id).status == "DELETED":
                raise NotFound(f"Instance {resource_id} could not be found.")
        elif kind == "volumes":
            self.block_storage(region).get_volume(tenant_id, resource_id)
        elif kind == "floating-ips":
            self._floating_ip(tenant_id, region, resource_id)
        else:
            return self.loadbalancer_region(tenant_id, resource_id)
        return region

    def _floating_ip(self, tenant_id: str, region: str, fip_id: str) -> None:
        if not any(f.id == fip_id for f in self.driver(region).list_floating_ips(tenant_id)):
            raise NotFound(f"Floating IP {fip_id} could not be found.")


@dataclass(frozen=True)
class Target:
    """One resource of the caller's, as a tag request names it."""

    caller: Principal
    region: str
    kind: str
    resource_id: str
    source: str = "api"  # "api" or "console", for the audit log
    remote_addr: str | None = None


@dataclass(frozen=True)
class TagService:
    db: Database
    clock: Clock
    owners: Owners

    def get(self, target: Target) -> tuple[Tag, ...]:
        kind, region = self._owned(target)
        with self.db.read() as conn:
            return repo.tags_of(conn, target.caller.tenant_id, region, kind, target.resource_id)

    def of_shown(self, tenant_id: str, region: str, kind: Kind,
                 resource_id: str) -> tuple[Tag, ...]:
        """The tags of a resource the caller's page has just read through the driver (so its
        ownership is known): one query, no second driver call."""
        with self.db.read() as conn:
            return repo.tags_of(conn, tenant_id, region, kind, resource_id)

    def replace(self, target: Target, texts: Iterable[str]) -> tuple[Tag, ...]:
        """The resource's tags become exactly `texts` (422 for a bad tag, before anything)."""
        tags = parse_tags(texts)
        return self._change(target, lambda _current: tags)

    def add(self, target: Target, text: str) -> tuple[Tag, ...]:
        """One more tag; a key already there takes the new value."""
        tag = parse_tag(text)
        return self._change(target, lambda current: with_tag(current, tag))

    def remove(self, target: Target, text: str) -> tuple[Tag, ...]:
        """Remove `env` (any value) or `env=prod` (that value only); NotFound if none matched."""
        tag = parse_tag(text)

        def change(current: tuple[Tag, ...]) -> tuple[Tag, ...]:
            kept = without_tag(current, tag)
            if kept is None:
                raise NotFound(f"the resource has no tag {str(tag)!r}", field="tag")
            return kept
        return self._change(target, change)

    def _change(self, target: Target,
                change: Callable[[tuple[Tag, ...]], tuple[Tag, ...]]) -> tuple[Tag, ...]:
        kind, region = self._owned(target)
        tenant_id, resource_id = target.caller.tenant_id, target.resource_id
        with self.db.begin() as conn:
            before = repo.tags_of(conn, tenant_id, region, kind, resource_id)
            after = change(before)
            if after != before:
                repo.replace(conn, tenant_id, region, kind, resource_id, after, self.clock.now())
                self._audit(conn, target, before, after)
        return after

    def _owned(self, target: Target) -> tuple[Kind, str]:
        kind = check_kind(target.kind)
        region = self.owners.region_of(
            target.caller.tenant_id, target.region, kind, target.resource_id)
        return kind, region

    def _audit(self, conn: Connection, target: Target, before: Sequence[Tag],
               after: Sequence[Tag]) -> None:
        added = sorted(set(map(str, after)) - set(map(str, before)))
        removed = sorted(set(map(str, before)) - set(map(str, after)))
        record = AuditRecord(
            actor_user_id=target.caller.user_id, actor_name=target.caller.user_name,
            action="tags.change", target_type=target.kind, target_id=target.resource_id,
            detail=f"added={','.join(added)} removed={','.join(removed)}",
            source=target.source, remote_addr=target.remote_addr)
        audit_repo.insert_entry(conn, check_record(record), self.clock.now())

    # ---- lists -------------------------------------------------------------------------------

    def tags_by_resource(self, tenant_id: str, region: str,
                         kind: Kind) -> dict[str, tuple[Tag, ...]]:
        """Tags of each tagged resource of one kind, for a list's chips (ids of resources that
        are gone are never looked up by a list, so they show nowhere)."""
        with self.db.read() as conn:
            return repo.tags_by_resource(conn, tenant_id, region, kind)

    def ids_with(self, tenant_id: str, region: str, kind: Kind, text: str) -> set[str]:
        """Ids tagged `text`: `env` matches every value of env, `env=prod` that one."""
        wanted = parse_tag(text)
        with self.db.read() as conn:
            return repo.ids_with(conn, tenant_id, region, kind, wanted)

    def filter(self, tenant_id: str, region: str, kind: Kind, text: str,
               items: Iterable[T], key: Callable[[T], str]) -> list[T]:
        """The `items` (existing resources) tagged `text`."""
        ids = self.ids_with(tenant_id, region, kind, text)
        return [item for item in items if key(item) in ids] if ids else []


def all_pages(fetch: Callable[[str | None], Sequence[T]], key: Callable[[T], str],
              wanted: set[str]) -> list[T]:
    """Walk a driver's pages (`fetch(marker)`, PAGE at a time) until every `wanted` id is found
    or the list ends; the items whose ids are wanted."""
    found: list[T] = []
    marker: str | None = None
    while len(found) < len(wanted):
        page = fetch(marker)
        found.extend(item for item in page if key(item) in wanted)
        if len(page) < PAGE:
            break
        marker = key(page[-1])
    return found
