"""Bars for usage against a limit: the geometry is computed here, the SVG drawn by a macro."""

from __future__ import annotations

from dataclasses import dataclass

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
