"""Pure metering rules: meters, counter deltas, rates, clock-aligned buckets and rollups."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sws.clock import check_moment, ensure_utc
from sws.drivers.base import InstanceReading
from sws.errors import Invalid, SWSError

Kind = Literal["cumulative", "gauge", "delta"]
AggregateName = Literal["min", "max", "mean", "sum", "count", "last"]
AGGREGATES: tuple[AggregateName, ...] = ("min", "max", "mean", "sum", "count", "last")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter as Ceilometer names it; cumulative meters are stored as per-interval deltas."""

    name: str
    unit: str
    kind: Kind


CUMULATIVE = (
    Meter("cpu", "ns", "cumulative"),
    Meter("disk.device.read.bytes", "B", "cumulative"),
    Meter("disk.device.write.bytes", "B", "cumulative"),
    Meter("disk.device.read.requests", "request", "cumulative"),
    Meter("disk.device.write.requests", "request", "cumulative"),
    Meter("network.incoming.bytes", "B", "cumulative"),
    Meter("network.outgoing.bytes", "B", "cumulative"),
    Meter("network.incoming.packets", "packet", "cumulative"),
    Meter("network.outgoing.packets", "packet", "cumulative"),
)
GAUGES = (Meter("memory.usage", "MiB", "gauge"), Meter("vcpus", "vcpu", "gauge"))
RATES = tuple(
    Meter(f"{m.name}.rate", f"{m.unit}/s", "gauge") for m in CUMULATIVE if m.name != "cpu"
)
DERIVED = (Meter("cpu_util", "%", "gauge"), *RATES)
METERS: dict[str, Meter] = {m.name: m for m in CUMULATIVE + GAUGES + DERIVED}


def meter(name: str) -> Meter:
    """The meter called `name`, or `Invalid` naming the field."""
    found = METERS.get(name)
    if found is None:
        raise Invalid(f"unknown meter {name!r}; known: {', '.join(sorted(METERS))}", field="meter")
    return found


@dataclass(frozen=True, slots=True)
class Sample:
    """One stored point: a gauge value, or a cumulative meter's delta since the last reading."""

    resource_id: str
    project_id: str
    meter: str
    device: str
    at: datetime
    value: float

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.resource_id, self.meter, self.device)

    @property
    def unit(self) -> str:
        return METERS[self.meter].unit

    @property
    def kind(self) -> str:
        return METERS[self.meter].kind


# ---- counters and rates ---------------------------------------------------------------------


def counter_delta(previous: float | None, current: float) -> float | None:
    """The increase since `previous`; None for a baseline; a drop is a reset, never negative.

    After a reset (a reboot zeroes libvirt's counters) the counter counted up from zero, so the
    delta is the current value itself.
    """
    if previous is None:
        return None
    if current >= previous:
        return current - previous
    return current


def cpu_util(delta_ns: float, seconds: float, vcpus: int) -> float:
    """CPU use in percent of what the instance's vCPUs could do in `seconds` (0..100)."""
    if seconds <= 0 or vcpus <= 0:
        raise ValueError("an interval and a vCPU count must be positive")
    return max(0.0, min(100.0, delta_ns / (seconds * 1e9 * vcpus) * 100.0))


def per_second(delta: float, seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("an interval must be positive")
    return delta / seconds


Cursor = tuple[float, datetime]  # a counter's last reading and when it was read


def derive(reading: InstanceReading, cursors: dict[tuple[str, str, str], Cursor]) -> list[Sample]:
    """Samples from one instance reading: per-device deltas, instance totals, rates, gauges.

    `cursors` holds each counter's previous reading and is updated in place. A counter's first
    reading is only a baseline; a counter that went down was reset (the domain restarted).
    """
    out: list[Sample] = []
    totals: dict[str, tuple[float, float]] = {}  # meter -> (delta, seconds)
    for counter in reading.counters:
        step = _step(reading, counter.meter, counter.device, counter.value, cursors)
        if step is None:
            continue
        if counter.device:
            out.append(_sample(reading, counter.meter, counter.device, step[0]))
        delta, seconds = totals.get(counter.meter, (0.0, step[1]))
        totals[counter.meter] = (delta + step[0], step[1])
    for name, (delta, seconds) in totals.items():
        out.append(_sample(reading, name, "", delta))
        out.append(_rate(reading, name, delta, seconds))
    out.extend(_sample(reading, g.meter, g.device, g.value) for g in reading.gauges)
    return out


def _step(
    reading: InstanceReading, name: str, device: str, value: float,
    cursors: dict[tuple[str, str, str], Cursor],
) -> tuple[float, float] | None:
    """(delta, seconds) since the counter's previous reading, or None for a baseline."""
    key = (reading.server_id, name, device)
    previous = cursors.get(key)
    if previous is not None and previous[1] >= reading.read_at:
        return None  # read twice at one instant: nothing new
    cursors[key] = (value, reading.read_at)
    if previous is None:
        return None
    delta = counter_delta(previous[0], value)
    assert delta is not None
    return delta, (reading.read_at - previous[1]).total_seconds()


def _sample(reading: InstanceReading, name: str, device: str, value: float) -> Sample:
    return Sample(reading.server_id, reading.project_id, name, device, reading.read_at, value)


def _rate(reading: InstanceReading, name: str, delta: float, seconds: float) -> Sample:
    if name == "cpu":
        return _sample(reading, "cpu_util", "", cpu_util(delta, seconds, reading.flavor.vcpus))
    return _sample(reading, f"{name}.rate", "", per_second(delta, seconds))


# ---- buckets --------------------------------------------------------------------------------

RESOLUTIONS: tuple[int, ...] = (60, 300, 3600, 86400)
GRANULARITY_NAMES = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}


def parse_granularity(text: str | int) -> int:
    """Seconds of a rollup: 60, 300, 3600, 86400, or 1m / 5m / 1h / 1d."""
    value = GRANULARITY_NAMES.get(str(text))
    if value is None and str(text).isdigit():
        value = int(text)
    if value not in RESOLUTIONS:
        raise Invalid(
            f"granularity {text!r} is not a rollup; use one of 60, 300, 3600, 86400 "
            "(or 1m, 5m, 1h, 1d)",
            field="granularity",
        )
    return value


def align(moment: datetime, seconds: int) -> datetime:
    """The start of the clock-aligned, half-open window of `seconds` that holds `moment`."""
    offset = ensure_utc(moment) - EPOCH
    whole = offset.days * 86400 + offset.seconds
    return EPOCH + timedelta(seconds=whole - whole % seconds)


def align_up(moment: datetime, seconds: int) -> datetime:
    start = align(moment, seconds)
    return start if start == moment else start + timedelta(seconds=seconds)


def buckets_between(start: datetime, end: datetime, seconds: int) -> int:
    """How many `seconds` windows start in [align(start), end)."""
    if end <= start:
        return 0
    span = align_up(end, seconds) - align(start, seconds)
    return int(span.total_seconds()) // seconds


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each resolution is kept; older data is deleted (or its partition dropped)."""

    raw: timedelta = timedelta(days=2)
    rollups: tuple[tuple[int, timedelta], ...] = (
        (60, timedelta(days=7)), (300, timedelta(days=35)),
        (3600, timedelta(days=400)), (86400, timedelta(days=1830)),
    )

    def __post_init__(self) -> None:
        if self.raw < timedelta(hours=1):
            raise ValueError("raw samples must be kept at least an hour")

    def of(self, resolution: int) -> timedelta:
        return self.raw if resolution == 0 else dict(self.rollups)[resolution]


# ---- aggregates -----------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: built per row on hot paths; treat as immutable
class Aggregate:
    """A mergeable summary of a window's samples; `mean` is derived, so merges stay exact."""

    min: float
    max: float
    sum: float
    count: int
    last: float
    last_at: datetime

    @staticmethod
    def of(point_at: datetime, value: float) -> Aggregate:
        return Aggregate(value, value, value, 1, value, point_at)

    def merge(self, other: Aggregate) -> Aggregate:
        later = other if other.last_at >= self.last_at else self
        return Aggregate(
            min=min(self.min, other.min),
            max=max(self.max, other.max),
            sum=self.sum + other.sum,
            count=self.count + other.count,
            last=later.last,
            last_at=later.last_at,
        )

    def value(self, name: AggregateName) -> float:
        if name == "mean":
            return self.sum / self.count
        if name == "count":
            return float(self.count)
        result: float = getattr(self, name)
        return result


def rollup(points: Iterable[tuple[datetime, float]], seconds: int) -> dict[datetime, Aggregate]:
    """Summarise (time, value) points into clock-aligned windows of `seconds`."""
    out: dict[datetime, Aggregate] = {}
    for at, value in points:
        bucket = align(at, seconds)
        single = Aggregate.of(at, value)
        found = out.get(bucket)
        out[bucket] = single if found is None else found.merge(single)
    return out


# ---- queries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """A validated request for one metric's aggregate per window, over [start, end)."""

    start: datetime
    end: datetime
    granularity: int
    aggregate: AggregateName

    @staticmethod
    def build(
        start: datetime, end: datetime, granularity: str | int, aggregate: str
    ) -> SeriesQuery:
        start, end = check_moment(start, field="from"), check_moment(end, field="to")
        if start >= end:
            raise Invalid("'from' must be before 'to'", field="from")
        seconds = parse_granularity(granularity)
        if aggregate not in AGGREGATES:
            raise Invalid(f"aggregate must be one of {', '.join(AGGREGATES)}", field="aggregate")
        _refuse_too_many(start, end, seconds)
        return SeriesQuery(align(start, seconds), end, seconds, aggregate)


def series_window(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """[from, to) as a caller asked: `to` defaults to now, `from` to a day before `to`."""
    end = now if end is None else check_moment(end, field="to")
    if start is None:
        return check_moment(end - timedelta(days=1), field="from"), end
    return check_moment(start, field="from"), end


def _refuse_too_many(start: datetime, end: datetime, seconds: int) -> None:
    points = buckets_between(start, end, seconds)
    if points > MAX_POINTS:
        raise SWSError(
            f"{points} points at {seconds} s exceed the {MAX_POINTS} a query may return; "
            "use a coarser granularity or a shorter range",
            field="granularity",
        )


def answer(
    buckets: dict[datetime, Aggregate], aggregate: AggregateName
) -> list[tuple[datetime, float]]:
    """The requested aggregate of each window that has data, in time order."""
    return [(at, buckets[at].value(aggregate)) for at in sorted(buckets)]


def sources_for(granularity: int) -> Sequence[int]:
    """Rollups that can answer `granularity` exactly, coarsest first; 0 stands for raw samples."""
    finer = [r for r in RESOLUTIONS if r <= granularity and granularity % r == 0]
    return [*sorted(finer, reverse=True), 0]


# ---- alarms ---------------------------------------------------------------------------------

State = Literal["ok", "alarm", "insufficient_data"]
Comparison = Literal["gt", "ge", "lt", "le", "eq", "ne"]
COMPARE = {
    "gt": float.__gt__, "ge": float.__ge__, "lt": float.__lt__,
    "le": float.__le__, "eq": float.__eq__, "ne": float.__ne__,
}


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """Alarm when `aggregate` of `meter` compares true in each of the last N whole windows."""

    resource_id: str
    meter: str
    comparison: Comparison
    threshold: float
    aggregate: AggregateName = "mean"
    granularity: int = 60
    evaluation_periods: int = 1
    device: str = ""

    def __post_init__(self) -> None:
        meter(self.meter)
        parse_granularity(self.granularity)
        if self.comparison not in COMPARE:
            raise Invalid(f"comparison must be one of {', '.join(COMPARE)}", field="comparison")
        if self.aggregate not in AGGREGATES:
            raise Invalid(f"aggregate must be one of {', '.join(AGGREGATES)}", field="aggregate")
        if not 1 <= self.evaluation_periods <= 1440:
            raise Invalid("evaluation_periods must be 1 to 1440", field="evaluation_periods")
        _check_threshold(self.threshold)

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The last N whole windows before `now`: half-open and clock-aligned."""
        end = align(now, self.granularity)
        return end - timedelta(seconds=self.granularity * self.evaluation_periods), end


def _check_threshold(value: object) -> None:
    """A finite number: NaN never compares true, and an infinite threshold answers alike
    whatever the data, so an alarm on either would mean nothing."""
    try:
        finite = not isinstance(value, bool) and math.isfinite(value)  # type: ignore[arg-type]
    except (TypeError, OverflowError):  # not a number, or an int past any float
        finite = False
    if not finite:
        raise Invalid("threshold must be a finite number", field="threshold")


@dataclass(frozen=True, slots=True)
class CompositeRule:
    """`and` / `or` of rules, with three-valued logic over ok, alarm and insufficient_data."""

    operator: Literal["and", "or"]
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        if self.operator not in ("and", "or"):
            raise Invalid("a composite rule is 'and' or 'or'", field="operator")
        if len(self.rules) < 2:
            raise Invalid("a composite rule needs at least two rules", field="rules")


Rule = ThresholdRule | CompositeRule


def threshold_state(rule: ThresholdRule, values: Sequence[float | None]) -> tuple[State, str]:
    """The state of one rule given its last N window values (None where a window had no data)."""
    missing = sum(1 for v in values if v is None)
    if missing or len(values) < rule.evaluation_periods:
        return "insufficient_data", f"{missing} of {rule.evaluation_periods} periods have no data"
    compare = COMPARE[rule.comparison]
    breaching = [v for v in values if v is not None and compare(float(v), rule.threshold)]
    shown = ", ".join(f"{v:g}" for v in values if v is not None)
    verdict: State = "alarm" if len(breaching) == len(values) else "ok"
    return verdict, (
        f"{rule.aggregate}({rule.meter}) over {len(values)} x {rule.granularity}s = [{shown}]; "
        f"{len(breaching)} {rule.comparison} {rule.threshold:g}"
    )


def combine(operator: Literal["and", "or"], states: Sequence[State]) -> State:
    """Kleene logic: `and` is ok if any is ok; `or` is alarm if any is alarm."""
    decisive: State = "ok" if operator == "and" else "alarm"
    if decisive in states:
        return decisive
    if "insufficient_data" in states:
        return "insufficient_data"
    return "alarm" if operator == "and" else "ok"


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm: its definition (rule as JSON, actions by state) and where evaluation left it."""

    id: str
    project_id: str
    name: str
    description: str
    rule: dict[str, Any]
    actions: dict[str, list[dict[str, Any]]]
    repeat_actions: bool
    enabled: bool
    state: str
    state_reason: str
    state_changed_at: datetime
    evaluated_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    state: State
    changed: bool
    notify: bool


def decide(previous: State, current: State, *, repeat_actions: bool) -> Decision:
    """A change is recorded and notified; an unchanged state notifies only with repeat on."""
    changed = previous != current
    return Decision(current, changed, changed or repeat_actions)
