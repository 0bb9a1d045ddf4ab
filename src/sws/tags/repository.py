"""SQL of resource tags: read a resource's set, replace it, and find resources by tag."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from sws.tags.model import Tag
from sws.tags.tables import resource_tags as t


def tags_of(conn: Connection, tenant_id: str, region: str, kind: str,
            resource_id: str) -> tuple[Tag, ...]:
    rows = conn.execute(select(t.c.key, t.c.value).where(
        t.c.tenant_id == tenant_id, t.c.region == region, t.c.kind == kind,
        t.c.resource_id == resource_id).order_by(t.c.key))
    return tuple(Tag(key, value) for key, value in rows)


def replace(conn: Connection, tenant_id: str, region: str, kind: str, resource_id: str,
            tags: Sequence[Tag], now: datetime) -> None:
    """The resource's tags become `tags`; a tag kept keeps its `created_at`."""
    old = {tag.key: tag for tag in tags_of(conn, tenant_id, region, kind, resource_id)}
    new = {tag.key: tag for tag in tags}
    gone = [key for key, tag in old.items() if new.get(key) != tag]
    if gone:
        conn.execute(delete(t).where(
            t.c.tenant_id == tenant_id, t.c.region == region, t.c.kind == kind,
            t.c.resource_id == resource_id, t.c.key.in_(gone)))
    added = [tag for key, tag in new.items() if old.get(key) != tag]
    if added:
        conn.execute(insert(t), [
            {"tenant_id": tenant_id, "region": region, "kind": kind, "resource_id": resource_id,
             "key": tag.key, "value": tag.value, "created_at": now} for tag in added])


def tags_by_resource(conn: Connection, tenant_id: str, region: str,
                     kind: str) -> dict[str, tuple[Tag, ...]]:
    """Every tagged resource of one kind of the tenant in the region, with its sorted tags."""
    rows = conn.execute(select(t.c.resource_id, t.c.key, t.c.value).where(
        t.c.tenant_id == tenant_id, t.c.region == region, t.c.kind == kind,
    ).order_by(t.c.resource_id, t.c.key))
    found: dict[str, list[Tag]] = {}
    for resource_id, key, value in rows:
        found.setdefault(resource_id, []).append(Tag(key, value))
    return {resource_id: tuple(tags) for resource_id, tags in found.items()}


def ids_with(conn: Connection, tenant_id: str, region: str, kind: str,
             wanted: Tag) -> set[str]:
    """The ids of resources whose tags match `wanted` (`env` matches every value of env).
    Values compare exactly here, since MariaDB's default collation ignores case."""
    query = select(t.c.resource_id, t.c.value).where(
        t.c.tenant_id == tenant_id, t.c.region == region, t.c.kind == kind,
        t.c.key == wanted.key)
    if wanted.value:
        query = query.where(t.c.value == wanted.value)
    return {resource_id for resource_id, value in conn.execute(query)
            if not wanted.value or value == wanted.value}


def forget(conn: Connection, tenant_id: str, region: str, kind: str, resource_id: str) -> int:
    """Drop a deleted resource's tags; how many there were."""
    return conn.execute(delete(t).where(
        t.c.tenant_id == tenant_id, t.c.region == region, t.c.kind == kind,
        t.c.resource_id == resource_id)).rowcount
