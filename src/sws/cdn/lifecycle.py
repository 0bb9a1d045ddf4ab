"""What follows when a distribution's origin is deleted: SWS disables the distribution with the
reason `origin_deleted`, the edges stop serving it (403 from the next configuration on), and the
tenant is told: an audit entry, and a mail to each of its users in the user's language.

Two ways in, one rule (`origin_deleted_in`):
- a load balancer's deletion calls it in the deleting transaction (`sws.loadbalancer.service`);
- a container can be deleted through SWS or straight in Swift, so `check_container_origins`
  (run by the ticker every `CHECK_EVERY`) asks each region's object store whether every
  enabled container origin still exists, and disables those that do not.

This module imports nothing of `sws.loadbalancer`'s service, which calls it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from sws.audit.model import AuditRecord, check_record
from sws.audit.repository import insert_entry
from sws.cdn import repository as repo
from sws.cdn.model import ORIGIN_DELETED
from sws.cdn.repository import DistributionRow
from sws.clock import Cadence, Clock
from sws.db.engine import Database
from sws.drivers.base import ObjectStore
from sws.errors import NotFound, SWSError
from sws.identity.account_repository import tenant_recipients
from sws.mail import outbox
from sws.mail.model import Mail
from sws.mail.templates import render

log = logging.getLogger("sws.cdn")
TEMPLATE = "cdn_origin_deleted"
CHECK_EVERY = timedelta(seconds=60)
ORIGIN_WORDS = {"container": ("container", "容器"), "loadbalancer": ("load balancer", "负载均衡")}


@dataclass(frozen=True, slots=True)
class DeletedOrigin:
    """An origin that no longer exists: a project's container in a region, or a load balancer."""

    project_id: str
    kind: str
    ref: str
    region: str | None = None  # a container's; a load balancer id is unique cloud-wide


def origin_deleted_in(conn: Connection, clock: Clock, origin: DeletedOrigin) -> list[str]:
    """Disable the distributions on `origin` that SWS has not disabled yet, audit it, mail the
    tenant and bump the edges' version, in the caller's transaction; the ids disabled."""
    rows = [
        r
        for r in repo.list_distributions(
            conn, project_id=origin.project_id, origin=(origin.kind, origin.ref)
        )
        if r.disabled_reason is None and origin.region in (None, r.region)
    ]
    now = clock.now()
    disabled = [r for r in rows if repo.disable_for(conn, r.id, ORIGIN_DELETED, now)]
    for row in disabled:
        _audit(conn, now, row)
        _tell(conn, now, row)
    if disabled:
        repo.bump_version(conn)
    return [r.id for r in disabled]


def _audit(conn: Connection, now: datetime, row: DistributionRow) -> None:
    detail = {"reason": ORIGIN_DELETED, "origin": f"{row.origin_kind}:{row.origin_ref}"}
    record = AuditRecord(
        actor_user_id="sws",
        actor_name="SWS",
        action="cdn.disable",
        target_type="distribution",
        target_id=row.id,
        detail=json.dumps(detail, sort_keys=True),
        source="system",
    )
    insert_entry(conn, check_record(record), now)


def _tell(conn: Connection, now: datetime, row: DistributionRow) -> int:
    """The notice to each of the tenant's users, once per distribution and address."""
    english, chinese = ORIGIN_WORDS[row.origin_kind]
    context = {
        "name": row.name,
        "id": row.id,
        "origin": row.origin_ref,
        "kind": english,
        "kind_zh": chinese,
        "host": row.hosts[0][0] if row.hosts else row.id,
    }
    sent = 0
    for to, language in tenant_recipients(conn, row.project_id):
        subject, text, _ = render(TEMPLATE, language, context)
        key = f"{TEMPLATE}:{row.id}:{to}"[:255]
        sent += outbox.enqueue(conn, key=key, mail=Mail(to=to, subject=subject, text=text), now=now)
    return sent


# ---- containers: checked, since one can vanish without SWS being asked ------------------------


def check_container_origins(
    *, db: Database, clock: Clock, object_store: Callable[[str], ObjectStore]
) -> list[str]:
    """Disable every distribution whose container is gone; the ids disabled. A region whose
    store cannot answer is left for the next round (a store that is down deletes nothing)."""
    with db.read() as conn:
        rows = [
            r
            for r in repo.list_distributions(conn)
            if r.origin_kind == "container" and r.disabled_reason is None
        ]
    disabled: list[str] = []
    for origin in _gone(rows, object_store):
        with db.begin() as conn:
            disabled += origin_deleted_in(conn, clock, origin)
    return disabled


def _gone(
    rows: list[DistributionRow], object_store: Callable[[str], ObjectStore]
) -> Iterator[DeletedOrigin]:
    seen: set[DeletedOrigin] = set()
    for row in rows:
        origin = DeletedOrigin(row.project_id, "container", row.origin_ref, row.region)
        if origin not in seen and not _container_exists(object_store, origin):
            seen.add(origin)
            yield origin


def _container_exists(object_store: Callable[[str], ObjectStore], origin: DeletedOrigin) -> bool:
    try:
        object_store(origin.region or "").get_container(origin.project_id, origin.ref)
    except NotFound:
        return False
    except SWSError as exc:  # the store is down or refuses: not proof the container is gone
        log.warning("CDN origin %s/%s not checked: %s", origin.region, origin.ref, exc.detail)
    return True


class OriginChecks:
    """The ticker's part: `check_container_origins` once every `every`."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        object_store: Callable[[str], ObjectStore],
        every: timedelta = CHECK_EVERY,
    ) -> None:
        self.db, self.clock, self.object_store = db, clock, object_store
        self.cadence = Cadence(every)

    def tick(self) -> list[str]:
        if not self.cadence.due(self.clock.now()):
            return []
        return check_container_origins(db=self.db, clock=self.clock, object_store=self.object_store)
