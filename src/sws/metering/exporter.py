"""Prometheus text exposition: SWS's own health, and optionally per-instance meters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sws import __version__
from sws.drivers.base import InstanceReading
from sws.metering.runtime import Health

if TYPE_CHECKING:
    from sws.agents.service import AgentSummary

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    if not labels:
        return f"{name} {value:g}"
    text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{text}}} {value:g}"


def _family(name: str, kind: str, help_text: str, lines: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *lines]


def health_lines(health: Health, counts: dict[str, dict[str, int]]) -> list[str]:
    """SWS health: polls, samples, last poll, alarm states, deliveries, dead letters."""
    out = _family("sws_build_info", "gauge", "SWS version.", [_line(
        "sws_build_info", 1, {"version": __version__})])
    out += _family("sws_metering_polls_total", "counter", "Collector polls.",
                   [_line("sws_metering_polls_total", health.polls)])
    out += _family("sws_metering_samples_total", "counter", "Samples stored by the collector.",
                   [_line("sws_metering_samples_total", health.samples)])
    out += _family("sws_metering_instances", "gauge", "Instances read at the last poll.",
                   [_line("sws_metering_instances", health.instances)])
    out += _family("sws_metering_last_poll_duration_seconds", "gauge", "Last poll's wall time.",
                   [_line("sws_metering_last_poll_duration_seconds", health.last_poll_seconds)])
    last = health.last_poll_at.timestamp() if health.last_poll_at else 0
    out += _family("sws_metering_last_poll_timestamp_seconds", "gauge", "When it last polled.",
                   [_line("sws_metering_last_poll_timestamp_seconds", last)])
    out += _family("sws_alarm_deliveries_total", "counter", "Notification attempts by outcome.",
                   [_line("sws_alarm_deliveries_total", v, {"outcome": k})
                    for k, v in sorted(health.deliveries.items())])
    for name, by in counts.items():
        out += _family(name, "gauge", f"Rows of {name[4:]} by label.",
                       [_line(name, v, {"state": k}) for k, v in sorted(by.items())])
    return out


INSTANCE_GAUGES = {"memory.usage": "sws_instance_memory_usage_mib", "vcpus": "sws_instance_vcpus"}


def instance_lines(readings: Sequence[InstanceReading]) -> list[str]:
    """Per instance, labelled project/instance/flavor: counters as Prometheus counters."""
    counters: dict[str, list[str]] = {}
    for reading in readings:
        labels = {"project": reading.project_id, "instance": reading.server_id,
                  "flavor": reading.flavor.name}
        for c in reading.counters:
            name = "sws_instance_" + c.meter.replace(".", "_").replace("cpu", "cpu_ns") + "_total"
            line = _line(name, c.value, {**labels, "device": c.device})
            counters.setdefault(name, []).append(line)
        for g in reading.gauges:
            counters.setdefault(INSTANCE_GAUGES[g.meter], []).append(
                _line(INSTANCE_GAUGES[g.meter], g.value, labels))
    out: list[str] = []
    for name, lines in sorted(counters.items()):
        out += _family(name, "gauge" if name in INSTANCE_GAUGES.values() else "counter",
                       "Per-instance meter from the last poll.", lines)
    return out


def agent_lines(agents: Sequence[AgentSummary]) -> list[str]:
    """Per node agent (labelled agent kind and host/node): stale, behind, unknown host; and
    per kind how many need attention (the admin overview's red count)."""
    out: list[str] = []
    for name, what, value in (
        ("sws_agent_stale", "No report within the agent's window (1) or fresh (0).",
         lambda a: a.status.stale),
        ("sws_agent_behind", "Applied ruleset/version differs from the current one.",
         lambda a: a.status.behind),
        ("sws_agent_unknown_host", "Reports for a host SWS does not know.",
         lambda a: not a.known),
    ):
        out += _family(name, "gauge", what, [
            _line(name, int(value(a)), {"agent": a.kind, "host": a.name}) for a in agents
        ])
    kinds = sorted({a.kind for a in agents})
    out += _family("sws_agents_needing_attention", "gauge",
                   "Agents stale, behind, out of sync or for an unknown host.", [
                       _line("sws_agents_needing_attention",
                             sum(a.needs_attention for a in agents if a.kind == kind),
                             {"agent": kind}) for kind in kinds])
    return out
