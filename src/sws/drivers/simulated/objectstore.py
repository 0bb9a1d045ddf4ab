"""The simulated region's object storage: Swift's containers and objects, and its firewall.

It implements the `ObjectStore` port so that the storage pages and the storage firewall work
on a laptop. The firewall is the SAME engine as the Swift proxy middleware's: the rules are
kept in the container's sysmeta encoding, compiled with `sws_swift.rules.compile_rules`,
screened with `screen`, counted in `sws_swift.counters.LocalCounters` (per source IP, fixed
windows aligned to the epoch, on the injected clock) and decided with `within`/`exceeded`.

- Object requests (list, GET, PUT, DELETE) pass the firewall with the caller's address;
  container management (create, delete, show) and the firewall's own settings do not, as in
  Swift, where SWS writes them through an InternalClient.
- A refused request is counted, as the middleware counts it; only served requests are usage.
- Traffic counts the PUT body and the GET response body, charged when the request ends.
- Usage is exact: stored bytes are integrated per whole second into hourly rows, requests and
  bytes in/out are added to the hour they happen in.

Counters live in this process, like the middleware's `local` backend: exact for one `sws up`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, delete, select, update

from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import (
    ContainerInfo,
    ContainerUsage,
    ObjectInfo,
    RateLimited,
    StoredObject,
)
from sws.drivers.simulated.objectstore_tables import (
    sim_containers,
    sim_objects,
    sim_storage_usage,
)
from sws.errors import Conflict, Forbidden, Invalid, NotFound
from sws_swift.counters import LocalCounters
from sws_swift.rules import (
    SYSMETA_PREFIX,
    UNKNOWN,
    CompiledRules,
    FirewallRules,
    address_key,
    compile_rules,
    exceeded,
    from_sysmeta,
    limit_reason,
    parse_ip,
    refusal_text,
    screen,
    sysmeta_key,
    to_sysmeta_headers,
    within,
)

AnyRow = Row[Any]
MAX_OBJECT_BYTES = 8 * 1024 * 1024  # the console's file management, not a data lake
HOUR = 3600


@dataclass(frozen=True, slots=True)
class _Charge:
    """What a request that passed the firewall owes it when it ends."""

    key: str
    windows: tuple[int, ...]


class SimulatedObjectStore:
    """Containers and objects per project in `sim_*` tables, behind the storage firewall."""

    def __init__(self, *, region: str, db: Database, clock: Clock) -> None:
        self.region = region
        self._db = db
        self._clock = clock
        self._lock = threading.RLock()
        self.counters = LocalCounters()
        self._compiled: dict[tuple[str, ...], CompiledRules] = {}

    @contextmanager
    def _write(self) -> Iterator[tuple[Connection, datetime]]:
        with self._lock, self._db.begin() as conn:
            yield conn, self._clock.now()

    # ---- containers --------------------------------------------------------------------------

    def list_containers(self, project_id: str) -> Sequence[ContainerInfo]:
        query = (
            select(sim_containers)
            .where(sim_containers.c.region == self.region)
            .where(sim_containers.c.project_id == project_id)
            .order_by(sim_containers.c.name)
        )
        with self._db.read() as conn:
            return [_container(row) for row in conn.execute(query)]

    def get_container(self, project_id: str, name: str) -> ContainerInfo:
        with self._db.read() as conn:
            return _container(self._row(conn, project_id, name))

    def create_container(self, project_id: str, name: str) -> ContainerInfo:
        with self._write() as (conn, now):
            if self._find(conn, project_id, name) is not None:
                raise Conflict(f"Container {name} already exists.", field="name")
            conn.execute(
                sim_containers.insert().values(
                    region=self.region, project_id=project_id, name=name, object_count=0,
                    bytes_used=0, firewall=None, created_at=now, accrued_at=_second(now),
                )
            )
            return ContainerInfo(name=name, object_count=0, bytes_used=0)

    def delete_container(self, project_id: str, name: str) -> None:
        with self._write() as (conn, now):
            row = self._row(conn, project_id, name)
            if row.object_count:
                raise Conflict(f"Container {name} is not empty: delete its objects first.")
            self._accrue(conn, row, now)
            conn.execute(delete(sim_containers).where(sim_containers.c.id == row.id))

    # ---- objects -----------------------------------------------------------------------------

    def list_objects(
        self, project_id: str, container: str, *, client_ip: str, prefix: str = "",
        limit: int = 1000, marker: str | None = None,
    ) -> Sequence[ObjectInfo]:
        with self._write() as (conn, now):
            row = self._row(conn, project_id, container)
            charge = self._guard(row, client_ip, now)
            query = (
                select(*_INFO_COLUMNS)
                .where(sim_objects.c.container_id == row.id)
                .order_by(sim_objects.c.name)
            )
            if marker is not None:
                query = query.where(sim_objects.c.name > marker)
            found = [_object(r) for r in conn.execute(query) if r.name.startswith(prefix)]
            self._served(conn, row, now, charge)
            return found[:limit]

    def put_object(
        self, project_id: str, container: str, name: str, data: bytes, *, content_type: str,
        client_ip: str,
    ) -> ObjectInfo:
        if len(data) > MAX_OBJECT_BYTES:
            raise Invalid(f"at most {MAX_OBJECT_BYTES} bytes per object here", field="body")
        with self._write() as (conn, now):
            row = self._row(conn, project_id, container)
            charge = self._guard(row, client_ip, now)
            info = ObjectInfo(
                name=name, bytes=len(data), content_type=content_type,
                etag=hashlib.md5(data, usedforsecurity=False).hexdigest(), last_modified=now,
            )
            old = self._object_row(conn, row.id, name)
            self._accrue(conn, row, now)
            self._store(conn, row.id, info, data, replacing=old)
            self._resize(conn, row.id, objects=0 if old else 1, nbytes=len(data) - _size(old))
            self._served(conn, row, now, charge, bytes_in=len(data))
            return info

    def get_object(
        self, project_id: str, container: str, name: str, *, client_ip: str
    ) -> StoredObject:
        with self._write() as (conn, now):
            row = self._row(conn, project_id, container)
            charge = self._guard(row, client_ip, now)
            found = self._object_row(conn, row.id, name)
            if found is None:
                raise NotFound(f"Object {name} could not be found.")
            self._served(conn, row, now, charge, bytes_out=found.bytes)
            return StoredObject(info=_object(found), data=bytes(found.data))

    def delete_object(self, project_id: str, container: str, name: str, *, client_ip: str) -> None:
        with self._write() as (conn, now):
            row = self._row(conn, project_id, container)
            charge = self._guard(row, client_ip, now)
            found = self._object_row(conn, row.id, name)
            if found is None:
                raise NotFound(f"Object {name} could not be found.")
            self._accrue(conn, row, now)
            conn.execute(delete(sim_objects).where(sim_objects.c.id == found.id))
            self._resize(conn, row.id, objects=-1, nbytes=-found.bytes)
            self._served(conn, row, now, charge)

    # ---- firewall ----------------------------------------------------------------------------

    def get_firewall(self, project_id: str, container: str) -> FirewallRules:
        with self._db.read() as conn:
            key = _firewall_key(self._row(conn, project_id, container).firewall)
        return FirewallRules() if key is None else from_sysmeta(key)

    def set_firewall(self, project_id: str, container: str, rules: FirewallRules) -> None:
        with self._write() as (conn, _now):
            row = self._row(conn, project_id, container)
            conn.execute(
                update(sim_containers)
                .where(sim_containers.c.id == row.id)
                .values(firewall=_encode_firewall(rules))
            )

    def _guard(self, row: AnyRow, client_ip: str, now: datetime) -> _Charge | None:
        """Screen and count one request exactly as the proxy middleware does; raise if refused."""
        rules = self._rules(row.firewall)
        if rules is None:
            return None
        address = parse_ip(client_ip) or UNKNOWN
        whitelisted, refusal = screen(rules, address)
        if refusal is not None:
            raise Forbidden(refusal_text(refusal))
        if whitelisted or not rules.counted:
            return None
        key = f"{row.project_id}/{row.name}|{address_key(address)}"
        stamp = now.timestamp()
        requests, nbytes = self.counters.observe(
            key, stamp, rules.request_windows, rules.byte_windows
        )
        if not within(rules, requests, nbytes):
            limit, retry_after = exceeded(rules, requests, nbytes, stamp)
            reason = refusal_text(limit_reason(limit, retry_after))
            raise RateLimited(reason, retry_after=retry_after)
        return _Charge(key, rules.byte_windows) if rules.byte_windows else None

    def _rules(self, stored: str | None) -> CompiledRules | None:
        key = _firewall_key(stored)
        if key is None:
            return None
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= 4096:
                self._compiled.clear()
            compiled = self._compiled[key] = compile_rules(from_sysmeta(key))
        return compiled

    # ---- usage -------------------------------------------------------------------------------

    def usage(self, *, start: datetime, end: datetime) -> Sequence[ContainerUsage]:
        """Hourly rows for hours starting in `[start, end)`, with stored bytes up to now."""
        now = self._clock.now()
        rows = select(sim_storage_usage).where(
            and_(
                sim_storage_usage.c.region == self.region,
                sim_storage_usage.c.hour_start >= start,
                sim_storage_usage.c.hour_start < end,
            )
        )
        totals: dict[tuple[str, str, datetime], list[int]] = {}
        with self._db.read() as conn:
            for r in conn.execute(rows):
                totals[(r.project_id, r.container, r.hour_start)] = [
                    r.byte_seconds, r.requests, r.bytes_out, r.bytes_in
                ]
            for c in conn.execute(self._stored_query()):
                lower = max(_epoch(c.accrued_at), _epoch(_hour(start)))
                for hour, seconds in _hours(lower, min(_epoch(now), _epoch(end))):
                    cell = totals.setdefault((c.project_id, c.name, hour), [0, 0, 0, 0])
                    cell[0] += c.bytes_used * seconds
        return [
            ContainerUsage(
                project_id=p, container=name, hour_start=hour, byte_seconds=v[0],
                requests=v[1], bytes_out=v[2], bytes_in=v[3], region=self.region,
            )
            for (p, name, hour), v in sorted(totals.items())
            if start <= hour < end
        ]

    def _stored_query(self) -> Select[Any]:
        return select(sim_containers).where(
            sim_containers.c.region == self.region, sim_containers.c.bytes_used > 0
        )

    def _served(
        self, conn: Connection, row: AnyRow, now: datetime, charge: _Charge | None,
        *, bytes_in: int = 0, bytes_out: int = 0,
    ) -> None:
        """A served object request: usage for billing, and its bytes for the firewall."""
        self._add_usage(conn, row, _hour(now), requests=1, bytes_in=bytes_in, bytes_out=bytes_out)
        if charge is not None and bytes_in + bytes_out:
            self.counters.charge(charge.key, now.timestamp(), charge.windows, bytes_in + bytes_out)

    def _accrue(self, conn: Connection, row: AnyRow, now: datetime) -> None:
        """Integrate the stored bytes into the hourly rows up to the current whole second."""
        start, stop = _epoch(row.accrued_at), int(now.timestamp())
        if stop <= start:
            return
        if row.bytes_used:
            for hour, seconds in _hours(start, stop):
                self._add_usage(conn, row, hour, byte_seconds=row.bytes_used * seconds)
        conn.execute(
            update(sim_containers)
            .where(sim_containers.c.id == row.id)
            .values(accrued_at=datetime.fromtimestamp(stop, UTC))
        )

    def _add_usage(
        self, conn: Connection, row: AnyRow, hour: datetime, **amounts: int
    ) -> None:
        scope = and_(
            sim_storage_usage.c.region == self.region,
            sim_storage_usage.c.project_id == row.project_id,
            sim_storage_usage.c.container == row.name,
            sim_storage_usage.c.hour_start == hour,
        )
        changed = conn.execute(
            update(sim_storage_usage)
            .where(scope)
            .values({k: getattr(sim_storage_usage.c, k) + v for k, v in amounts.items()})
        ).rowcount
        if not changed:
            values = dict.fromkeys(("byte_seconds", "requests", "bytes_out", "bytes_in"), 0)
            conn.execute(
                sim_storage_usage.insert().values(
                    region=self.region, project_id=row.project_id, container=row.name,
                    hour_start=hour, **(values | amounts),
                )
            )

    # ---- rows --------------------------------------------------------------------------------

    def _find(self, conn: Connection, project_id: str, name: str) -> AnyRow | None:
        query = select(sim_containers).where(
            sim_containers.c.region == self.region,
            sim_containers.c.project_id == project_id,
            sim_containers.c.name == name,
        )
        return conn.execute(query).first()

    def _row(self, conn: Connection, project_id: str, name: str) -> AnyRow:
        row = self._find(conn, project_id, name)
        if row is None:  # another project's container reads exactly like a missing one
            raise NotFound(f"Container {name} could not be found.")
        return row

    def _object_row(
        self, conn: Connection, container_id: int, name: str
    ) -> AnyRow | None:
        query = select(sim_objects).where(
            sim_objects.c.container_id == container_id, sim_objects.c.name_hash == _hash(name)
        )
        return conn.execute(query).first()

    def _store(
        self, conn: Connection, container_id: int, info: ObjectInfo, data: bytes,
        *, replacing: AnyRow | None,
    ) -> None:
        values = {
            "bytes": info.bytes, "content_type": info.content_type, "etag": info.etag,
            "data": data, "last_modified": info.last_modified,
        }
        if replacing is not None:
            conn.execute(
                update(sim_objects).where(sim_objects.c.id == replacing.id).values(values)
            )
            return
        conn.execute(
            sim_objects.insert().values(
                container_id=container_id, name_hash=_hash(info.name), name=info.name, **values
            )
        )

    def _resize(self, conn: Connection, container_id: int, *, objects: int, nbytes: int) -> None:
        conn.execute(
            update(sim_containers)
            .where(sim_containers.c.id == container_id)
            .values(
                object_count=sim_containers.c.object_count + objects,
                bytes_used=sim_containers.c.bytes_used + nbytes,
            )
        )


_INFO_COLUMNS = (
    sim_objects.c.name,
    sim_objects.c.bytes,
    sim_objects.c.content_type,
    sim_objects.c.etag,
    sim_objects.c.last_modified,
)


def _container(row: AnyRow) -> ContainerInfo:
    return ContainerInfo(name=row.name, object_count=row.object_count, bytes_used=row.bytes_used)


def _object(row: Any) -> ObjectInfo:  # a row with at least the ObjectInfo columns
    return ObjectInfo(
        name=row.name, bytes=row.bytes, content_type=row.content_type, etag=row.etag,
        last_modified=row.last_modified,
    )


def _size(row: AnyRow | None) -> int:
    return 0 if row is None else int(row.bytes)


def _hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _encode_firewall(rules: FirewallRules) -> str | None:
    """The container's sysmeta field values, as Swift keeps them; None removes the firewall."""
    headers = to_sysmeta_headers(rules)
    key = sysmeta_key({k[len(SYSMETA_PREFIX):].lower(): v for k, v in headers.items()})
    return None if key is None else json.dumps(list(key))


def _firewall_key(stored: str | None) -> tuple[str, ...] | None:
    return None if stored is None else tuple(json.loads(stored))


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _second(moment: datetime) -> datetime:
    return datetime.fromtimestamp(_epoch(moment), UTC)


def _hour(moment: datetime) -> datetime:
    return datetime.fromtimestamp(_epoch(moment) // HOUR * HOUR, UTC)


def _hours(start: int, stop: int) -> Iterator[tuple[datetime, int]]:
    """Split `[start, stop)` (epoch seconds) at clock hours: (hour start, seconds in it)."""
    while start < stop:
        boundary = min(stop, (start // HOUR + 1) * HOUR)
        yield datetime.fromtimestamp(start // HOUR * HOUR, UTC), boundary - start
        start = boundary


__all__ = ["MAX_OBJECT_BYTES", "SimulatedObjectStore"]
