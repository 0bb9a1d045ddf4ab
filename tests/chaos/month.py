"""A busy stretch of a region's life as Nova's notifications, the same on every run of a seed.

Each tenant's instances are created, some resized on an hour's boundary, and all deleted inside
the window, so once every notification is in, the bill is final whenever the farmer runs. The
envelopes are built by the simulated region's own builders, with message ids fixed by the seed,
so a notification delivered twice is the same message both times.

`phases` orders them for publishing: every delete, then every resize, then every create. SWS
charges a created instance that it does not yet know deleted until now, and refunds the hours
when the delete arrives; a correct ledger, but not the same entries as a run that had the
delete first. Publishing a phase only once the one before is journalled makes the ledger
independent of when each farmer pass ran, so two runs can be compared entry by entry.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sws.drivers.base import Flavor
from sws.drivers.simulated.catalog import FLAVORS
from sws.drivers.simulated.notifications import (
    InstanceFacts,
    action_payload,
    create_payload,
    envelope,
    nova_message,
)

HOUR = timedelta(hours=1)
PRICED = ("m1.tiny", "m1.small", "m1.medium", "m1.large")  # per started hour in prices.yaml
PHASES = ("delete", "resize_finish", "create")


@dataclass(frozen=True, slots=True)
class BusyStretch:
    """What to simulate: tenants by name, instances each, and the window they live in."""

    tenants: tuple[str, ...]
    instances: int
    start: datetime
    end: datetime
    seed: int = 20


@dataclass(frozen=True, slots=True)
class Notification:
    action: str  # one of PHASES
    tenant: str  # the tenant's name
    message_id: str
    line: str  # the oslo envelope as JSON, as it travels over RabbitMQ


def notifications(stretch: BusyStretch, tenant_ids: Mapping[str, str]) -> list[Notification]:
    """Every instance's create, resize (one in three) and delete, for these tenants' ids."""
    rng = random.Random(stretch.seed)
    made: list[Notification] = []
    for tenant in stretch.tenants:
        for n in range(stretch.instances):
            made += _lifetime(stretch, tenant, tenant_ids[tenant], n, rng)
    return made


def phases(made: list[Notification]) -> list[list[Notification]]:
    """The notifications in publishing order: deletes, then resizes, then creates."""
    return [[m for m in made if m.action == action] for action in PHASES]


def _lifetime(
    stretch: BusyStretch, tenant: str, tenant_id: str, n: int, rng: random.Random
) -> list[Notification]:
    hours = int((stretch.end - stretch.start) / HOUR)
    born = stretch.start + timedelta(minutes=rng.randrange(0, (hours - 4) * 60))
    dies = born + timedelta(minutes=rng.randrange(90, min(hours * 60 - 60, 1800)))
    dies = min(dies, stretch.end - timedelta(minutes=1))
    flavor = _flavor(rng)
    server = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sws-chaos/{stretch.seed}/{tenant}/{n}"))
    facts = InstanceFacts(
        uuid=server, number=n, tenant_id=tenant_id, user_id="chaos-user",
        display_name=f"{tenant}-vm-{n}", host="compute-1", state="active", task_state=None,
        power_state="running", flavor=flavor, image_uuid="cirros", key_name=None,
        fixed_ip=f"10.0.{n // 250}.{n % 250 + 2}", mac="fa:16:3e:00:00:01",
        reservation_id=f"r-{server[:8]}", request_id=f"req-{server}", created_at=born,
        updated_at=born, launched_at=born, terminated_at=None, deleted_at=None,
    )  # fmt: skip
    lifetime = [_notice("create", tenant, facts, create_payload(facts), born)]
    resize_at = (born + 2 * HOUR).replace(minute=0, second=0, microsecond=0)
    if n % 3 == 0 and resize_at < dies:
        facts = replace(facts, flavor=_flavor(rng), updated_at=resize_at)
        lifetime.append(_notice("resize_finish", tenant, facts, action_payload(facts), resize_at))
    gone = replace(facts, state="deleted", power_state="pending", updated_at=dies,
                   terminated_at=dies, deleted_at=dies)  # fmt: skip
    lifetime.append(_notice("delete", tenant, gone, action_payload(gone), dies))
    return lifetime


def _flavor(rng: random.Random) -> Flavor:
    name = rng.choice(PRICED)
    return next(f for f in FLAVORS if f.name == name)


def _notice(
    action: str, tenant: str, facts: InstanceFacts, payload: dict[str, Any], at: datetime
) -> Notification:
    message = nova_message(f"instance.{action}.end", payload, facts, at)
    # Fixed by the seed: a redelivery, or the reference run's copy, is the same message.
    message["message_id"] = str(uuid.uuid5(uuid.UUID(facts.uuid), action))
    message["_unique_id"] = message["message_id"].replace("-", "")
    return Notification(action, tenant, message["message_id"], json.dumps(envelope(message)))
