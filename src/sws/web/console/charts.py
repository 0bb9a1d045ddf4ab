"""Charts: the geometry is computed here in plain numbers, the SVG drawn by template macros.

Bars for usage against a limit, line/area charts of a metric over time, a bar per month.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape
from typing import Any, NamedTuple

from sws.drivers.base import Hypervisor, QuotaUsage
from sws.web.console.i18n import N_

WIDTH = 240  # px of a full bar, as drawn by templates/_macros.html


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    used: int
    limit: int  # <= 0 means no limit
    unit: str = ""

    @property
    def fraction(self) -> float:
        """Share of the limit in use, 0..1 (an overcommitted host shows a full bar)."""
        if self.limit <= 0:
            return 0.0
        return min(1.0, max(0.0, self.used / self.limit))

    @property
    def width(self) -> int:
        return round(self.fraction * WIDTH)

    @property
    def percent(self) -> int:
        return round(self.used * 100 / self.limit) if self.limit > 0 else 0

    @property
    def level(self) -> str:
        """`ok` below 70 %, `warn` below 90 %, `full` from there: the fill colour."""
        if self.fraction >= 0.9:
            return "full"
        return "warn" if self.fraction >= 0.7 else "ok"


def quota_bars(usage: QuotaUsage) -> list[Bar]:
    limits = usage.limits
    return [
        Bar(N_("Instances"), usage.instances, limits.instances),
        Bar(N_("vCPUs"), usage.cores, limits.cores),
        Bar(N_("RAM"), usage.ram_mb // 1024, limits.ram_mb // 1024, "GiB"),
        Bar(N_("Floating IPs"), usage.floating_ips, limits.floating_ips),
        Bar(N_("Security Groups"), usage.security_groups, limits.security_groups),
        Bar(N_("Key Pairs"), usage.key_pairs, limits.key_pairs),
    ]


def capacity_bars(host: Hypervisor) -> list[Bar]:
    return [
        Bar(N_("vCPUs"), host.vcpus_used, host.vcpus),
        Bar(N_("RAM"), host.ram_used_mb // 1024, host.ram_mb // 1024, "GiB"),
        Bar(N_("Disk"), host.disk_used_gb, host.disk_gb, "GB"),
    ]


# ---- time series and month bars ----------------------------------------------------------------
# The geometry of the monitoring graphs and the bills' 12-month chart is computed here, in
# plain numbers; templates/_charts.html draws it as SVG. No script and no third-party library.

CHART_W, CHART_H = 640, 200  # the plot area, in SVG user units
PAD_L, PAD_R, PAD_T, PAD_B = 64, 12, 10, 26  # room for the axis labels
SVG_W, SVG_H = PAD_L + CHART_W + PAD_R, PAD_T + CHART_H + PAD_B


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    y: float
    label: str


class Point(NamedTuple):
    """A placed point of a line chart (a named tuple: a month's graph places thousands)."""

    x: float
    y: float
    at: datetime
    value: float


@dataclass(frozen=True, slots=True)
class LineChart:
    """A line with its area under it, axes, value ticks on the left and time ticks below."""

    title: str
    unit: str
    points: tuple[Point, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    line: str  # the SVG path of the line ("" when there are no points)
    area: str  # the path of the area under it
    latest: float | None
    peak: float | None

    width: int = SVG_W
    height: int = SVG_H
    left: int = PAD_L
    top: int = PAD_T
    bottom: int = PAD_T + CHART_H
    right: int = PAD_L + CHART_W
    axis: Axis | None = None  # the value axis: its one unit (ticks are plain numbers in it)

    def value_text(self, value: float) -> str:
        """A value in the axis's unit ("1.2 KiB/s"), as the caption and the tooltips say it."""
        return self.axis.text(value) if self.axis else short_number(value, self.unit)

    def point_marks(self, when: Callable[[datetime], str]) -> str:
        """Every point as an SVG circle with its time and value as the tooltip, escaped. Built
        here rather than in a template loop: a month's graph has hundreds of points."""
        text = self.value_text
        return "".join([
            f'<circle class="point" cx="{x}" cy="{y}" r="1.6"><title>'
            f"{escape(f'{when(at)}: {text(value)}')}</title></circle>"
            for x, y, at, value in self.points
        ])


@dataclass(frozen=True, slots=True)
class Axis:
    """A value axis in ONE unit: every tick is a plain number in `unit` ("KiB/s", "%", "K"),
    so "1000 B/s" never stands next to "1.5 KiB/s"; the unit is said once, in the caption."""

    top: float  # in the base unit (bytes per second, percent …)
    step: float
    divisor: float  # what a base value is divided by to be shown in `unit`
    unit: str
    decimals: int

    def label(self, value: float) -> str:
        """A tick: the number only, with no more decimals than the step needs."""
        return _plain(value / self.divisor, self.decimals)

    def text(self, value: float) -> str:
        number = _trim(value / self.divisor)
        return f"{number} {self.unit}" if self.unit else number


BYTE_PREFIXES = ("", "Ki", "Mi", "Gi", "Ti")
DECIMAL_PREFIXES = ("", "K", "M", "G", "T")


def value_axis(peak: float, unit: str, *, max_value: float | None = None) -> Axis:
    """The axis for values up to `peak` (or a fixed `max_value`, 100 for a percentage).

    One prefix for the whole axis, chosen so that the top reads below 1000: bytes step by
    1024 (B, KiB, MiB …), other units by 1000 (K, M …), a percentage never. The ticks are
    2 to 4 equal steps of 1, 2, 2.5 or 5 times 10ⁿ, from 0 to the first multiple of the step
    at or above the peak: 1,500 B/s gives 0, 0.5, 1, 1.5 KiB/s.
    """
    highest = max_value if max_value is not None else peak
    if math.isnan(highest) or highest <= 0:
        highest = 0.0
    divisor, shown = 1.0, unit
    if unit != "%":
        base, prefixes, rest = ((1024.0, BYTE_PREFIXES, unit[1:]) if unit.startswith("B")
                                else (1000.0, DECIMAL_PREFIXES, ""))
        power = 0
        while highest / base ** power >= 1000 and power < len(prefixes) - 1:
            power += 1
        divisor = base ** power
        shown = (f"{prefixes[power]}B{rest}" if unit.startswith("B")
                 else f"{prefixes[power]} {unit}".strip())
    scaled = highest / divisor
    if scaled <= 0:  # nothing yet: 0 to 1 in quarters
        step, top = 0.25, 1.0
    else:
        step = nice_step(scaled / 4)
        top = scaled if max_value is not None else step * math.ceil(scaled / step - 1e-9)
    return Axis(top * divisor, step * divisor, divisor, shown, _decimals(step))


def nice_step(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10ⁿ that is at least `value`."""
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power


def _decimals(step: float) -> int:
    for places in range(7):
        if abs(round(step, places) - step) <= 1e-9 * max(1.0, step):
            return places
    return 6


def _plain(number: float, decimals: int) -> str:
    text = f"{number:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10ⁿ that is at least `value` (1 for nothing)."""
    if value <= 0 or math.isnan(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power


def short_number(value: float, unit: str) -> str:
    """Axis labels: 0, 12.5, 3.2 K, 1.5 M … (bytes use the 1024 steps: KiB, MiB, GiB)."""
    if unit.startswith("B"):
        rest = unit[1:]
        for prefix in ("", "Ki", "Mi", "Gi", "Ti"):
            if abs(value) < 1024 or prefix == "Ti":
                return f"{_trim(value)} {prefix}B{rest}"
            value /= 1024
    if unit == "%":
        return f"{_trim(value)} %"
    for prefix in ("", " K", " M", " G"):
        if abs(value) < 1000 or prefix == " G":
            return f"{_trim(value)}{prefix}"
        value /= 1000
    return _trim(value)  # pragma: no cover


def _trim(value: float) -> str:
    text = f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"
    return text[:-2] if text.endswith(".0") else text


def _time_label(moment: datetime, span: timedelta) -> str:
    if span <= timedelta(days=1):
        return moment.strftime("%H:%M")
    if span <= timedelta(days=7):
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%m-%d")


def line_chart(
    title: str, unit: str, points: Sequence[tuple[datetime, float]], start: datetime,
    end: datetime, *, max_value: float | None = None, time_ticks: int = 6,
) -> LineChart:
    """Place `points` between `start` and `end` (x) and 0 and a round ceiling (y).

    `max_value` fixes the y scale (100 for a percentage); otherwise the top is the first tick
    at or above the highest point (`value_axis`: one unit for the whole axis). Times are UTC,
    as the metering API answers them.
    """
    span = end - start
    seconds = max(span.total_seconds(), 1.0)
    axis = value_axis(max((v for _, v in points), default=0.0), unit, max_value=max_value)
    top = axis.top
    placed = tuple([
        Point(
            round(PAD_L + (at - start).total_seconds() / seconds * CHART_W, 1),
            # the value held between 0 and the top (min/max calls cost a month's graph)
            round(PAD_T + CHART_H - (0.0 if value < 0.0 else top if value > top else value)
                  / top * CHART_H, 1),
            at, value,
        )
        for at, value in points if start <= at <= end
    ])
    line = "M" + " L".join(f"{p.x},{p.y}" for p in placed) if placed else ""
    base = PAD_T + CHART_H
    area = f"{line} L{placed[-1].x},{base} L{placed[0].x},{base} Z" if placed else ""
    steps = max(1, round(top / axis.step))
    y_ticks = tuple(
        Tick(PAD_L, round(PAD_T + CHART_H - i / steps * CHART_H, 1), axis.label(axis.step * i))
        for i in range(steps + 1)
    )
    x_ticks = tuple(
        Tick(round(PAD_L + i / time_ticks * CHART_W, 1), base,
             _time_label(start + span * i / time_ticks, span))
        for i in range(time_ticks + 1)
    )
    values = [v for _, v in points]
    return LineChart(
        title, unit, placed, y_ticks, x_ticks, line, area,
        latest=values[-1] if values else None, peak=max(values) if values else None, axis=axis,
    )


@dataclass(frozen=True, slots=True)
class MonthBar:
    month: str
    label: str
    total: Decimal
    x: float
    y: float
    width: float
    height: float
    selected: bool


@dataclass(frozen=True, slots=True)
class BarChart:
    bars: tuple[MonthBar, ...]
    y_ticks: tuple[Tick, ...]
    width: int = SVG_W
    height: int = SVG_H
    left: int = PAD_L
    top: int = PAD_T
    bottom: int = PAD_T + CHART_H
    right: int = PAD_L + CHART_W


def last_months(current: str, count: int = 12) -> list[str]:
    """`count` months ending with `current` ("YYYY-MM"), oldest first."""
    year, month = (int(part) for part in current.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def month_bars(
    totals: Mapping[str, Decimal], months: Sequence[str], selected: str, format_tick: Any
) -> BarChart:
    """One bar per month (0 when a month has no bill); `format_tick` labels the money axis."""
    top = nice_ceiling(float(max(totals.values(), default=Decimal(0))))
    slot = CHART_W / max(len(months), 1)
    bars = []
    for i, month in enumerate(months):
        total = totals.get(month, Decimal(0))
        height = round(float(total) / top * CHART_H, 1)
        bars.append(MonthBar(
            month, month[2:].replace("-", "/"), total, round(PAD_L + i * slot + slot * 0.15, 1),
            round(PAD_T + CHART_H - height, 1), round(slot * 0.7, 1), height, month == selected,
        ))
    y_ticks = tuple(
        Tick(PAD_L, round(PAD_T + CHART_H - i / 4 * CHART_H, 1), format_tick(top * i / 4))
        for i in range(5)
    )
    return BarChart(tuple(bars), y_ticks)


# ---- stacked bars by day (the overview's month-to-date cost) -----------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """One series' part of a column: `index` picks its colour (`.stack-<index>` in the CSS)."""

    series: str
    index: int
    amount: Decimal
    y: float
    height: float


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    total: Decimal
    x: float
    width: float
    segments: tuple[Segment, ...]
    tick: bool  # whether the x axis shows this column's label


@dataclass(frozen=True, slots=True)
class StackedChart:
    columns: tuple[Column, ...]
    y_ticks: tuple[Tick, ...]
    series: tuple[str, ...]
    width: int = SVG_W
    height: int = SVG_H
    left: int = PAD_L
    top: int = PAD_T
    bottom: int = PAD_T + CHART_H
    right: int = PAD_L + CHART_W

    @property
    def empty(self) -> bool:
        return all(column.total <= 0 for column in self.columns)


def stacked_bars(
    columns: Sequence[tuple[str, Mapping[str, Decimal]]], series: Sequence[str],
    format_tick: Any, *, label_every: int = 5,
) -> StackedChart:
    """A column per (label, amount by series), its series stacked bottom-up in `series`' order
    (negative amounts, refunds, are left out of the stack); the money axis labelled by
    `format_tick`, every `label_every`-th column (and the first) labelled below."""
    totals = [sum((max(a, Decimal(0)) for a in amounts.values()), Decimal(0))
              for _, amounts in columns]
    top = nice_ceiling(float(max(totals, default=Decimal(0))))
    slot = CHART_W / max(len(columns), 1)
    placed = []
    for i, ((label, amounts), total) in enumerate(zip(columns, totals, strict=True)):
        base, segments = float(PAD_T + CHART_H), []
        for index, name in enumerate(series):
            amount = amounts.get(name, Decimal(0))
            if amount <= 0:
                continue
            height = float(amount) / top * CHART_H
            base -= height
            segments.append(Segment(name, index, amount, round(base, 1), round(height, 1)))
        placed.append(Column(label, total, round(PAD_L + i * slot + slot * 0.15, 1),
                             round(slot * 0.7, 1), tuple(segments),
                             i == 0 or (i + 1) % label_every == 0))
    y_ticks = tuple(
        Tick(PAD_L, round(PAD_T + CHART_H - i / 4 * CHART_H, 1), format_tick(top * i / 4))
        for i in range(5)
    )
    return StackedChart(tuple(placed), y_ticks, tuple(series))
