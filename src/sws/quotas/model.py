"""Quota request values and the operator's rules: preset sizes, what a request asks for,
and whether the auto-approval rules let it through. Pure: no SQL, no framework."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Literal

from sws.drivers.base import Quota
from sws.errors import Conflict, Invalid

State = Literal["pending", "approved", "denied"]
GOOD_STATUSES = ("ok", "low")  # billing's account statuses in good standing
RESOURCES: tuple[str, ...] = tuple(f.name for f in fields(Quota))
MAX_LIMIT = 10_000_000  # RAM is counted in MB
MAX_REASON = 1000
MAX_NOTE = 1000

# The preset sizes, smallest first: a size step is one place in this order.
DEFAULT_SIZES: dict[str, dict[str, int]] = {
    "S": {"instances": 10, "cores": 20, "ram_mb": 51200, "floating_ips": 10,
          "security_groups": 10, "key_pairs": 100},
    "M": {"instances": 20, "cores": 40, "ram_mb": 102400, "floating_ips": 20,
          "security_groups": 20, "key_pairs": 100},
    "L": {"instances": 50, "cores": 100, "ram_mb": 256000, "floating_ips": 50,
          "security_groups": 50, "key_pairs": 200},
    "XL": {"instances": 100, "cores": 200, "ram_mb": 512000, "floating_ips": 100,
           "security_groups": 100, "key_pairs": 500},
}


@dataclass(frozen=True, slots=True)
class Sizes:
    """The operator's preset sizes, smallest first."""

    presets: tuple[tuple[str, Quota], ...]

    @classmethod
    def from_mapping(cls, sizes: Mapping[str, Mapping[str, int]]) -> Sizes:
        return cls(tuple((name, quota_of(limits, Quota())) for name, limits in sizes.items()))

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.presets)

    def quota(self, name: str) -> Quota:
        for found, quota in self.presets:
            if found == name:
                return quota
        raise Invalid(f"size must be one of {', '.join(self.names())}", field="size")

    def size_of(self, quota: Quota) -> int:
        """The place of the largest preset `quota` covers in every resource (-1: none)."""
        place = -1
        for index, (_, preset) in enumerate(self.presets):
            if covers(quota, preset):
                place = index
        return place

    def steps(self, current: Quota, wanted: Quota) -> int:
        """How many size steps `wanted` is above `current`: the smallest preset that covers
        what `wanted` raises, counted from the size `current` covers (more than every preset:
        too many). A limit kept as it is never counts: Neutron's default of 50 floating IPs
        must not make every request on OpenStack look like size L."""
        raised = [name for name in RESOURCES if getattr(wanted, name) > getattr(current, name)]
        needed = next(
            (i for i, (_, preset) in enumerate(self.presets)
             if all(getattr(preset, name) >= getattr(wanted, name) for name in raised)),
            len(self.presets) + 1,
        )
        return needed - self.size_of(current)


@dataclass(frozen=True, slots=True)
class Rules:
    """The operator's auto-approval rules; `enabled=False` sends every request to the queue."""

    enabled: bool = True
    max_steps: int = 1
    interval: timedelta = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Standing:
    """What the rules need of the tenant's account."""

    tenant_enabled: bool
    account_status: str  # billing's: ok | low | grace | suspended
    balance_negative: bool

    @property
    def good(self) -> bool:
        """Enabled, paying (a low balance is still paying) and owing nothing."""
        return (
            self.tenant_enabled
            and self.account_status in GOOD_STATUSES
            and not self.balance_negative
        )


@dataclass(frozen=True, slots=True)
class QuotaRequest:
    id: str
    tenant_id: str
    region: str
    requested_by: str
    size: str | None  # the preset asked for, or None for per-resource limits
    current: Quota
    wanted: Quota
    reason: str
    state: State
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None  # a user name, or "rules" when auto-approved
    note: str = ""
    language: str = "en"

    def decided(self, state: State, by: str, note: str, now: datetime) -> QuotaRequest:
        if self.state != "pending":
            raise Conflict(f"the request is {self.state} already", field="id")
        return replace(self, state=state, decided_by=by, note=note, decided_at=now)


def covers(big: Quota, small: Quota) -> bool:
    return all(getattr(big, name) >= getattr(small, name) for name in RESOURCES)


def quota_of(limits: Mapping[str, int], base: Quota) -> Quota:
    """`base` with `limits` (resource name → new limit) applied, each checked."""
    unknown = sorted(set(limits) - set(RESOURCES))
    if unknown:
        raise Invalid(f"unknown resource {unknown[0]!r}: one of {', '.join(RESOURCES)}",
                      field="limits")
    for name, value in limits.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_LIMIT:
            raise Invalid(f"{name} must be a whole number from 0 to {MAX_LIMIT}", field="limits")
    return replace(base, **dict(limits))


def check_larger(current: Quota, wanted: Quota) -> None:
    """A request asks for more of something, and never less (lowering is the admin's)."""
    if covers(current, wanted):
        raise Invalid("the request asks for nothing above the current quota", field="limits")
    if not covers(wanted, current):
        raise Invalid("a request may not lower a limit", field="limits")


def check_text(value: str, *, field: str, limit: int, required: bool) -> str:
    text = value.strip()
    if required and not text:
        raise Invalid(f"give a {field}", field=field)
    if len(text) > limit:
        raise Invalid(f"the {field} has at most {limit} characters", field=field)
    return text


def auto_decision(
    rules: Rules, sizes: Sizes, request: QuotaRequest, standing: Standing,
    last_approved: datetime | None,
) -> str | None:
    """Why the rules leave `request` to an admin, or None when they approve it."""
    if not rules.enabled:
        return "auto-approval is off"
    if sizes.steps(request.current, request.wanted) > rules.max_steps:
        return f"more than {rules.max_steps} size step(s) up"
    if last_approved is not None and request.created_at - last_approved < rules.interval:
        return f"another request was approved within {rules.interval.days} days"
    if not standing.good:
        return "the account is not in good standing"
    return None
