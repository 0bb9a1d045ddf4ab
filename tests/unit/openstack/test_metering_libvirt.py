"""The libvirt collector against libvirt's built-in test:///default driver (no daemon)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sws.drivers.base import MetricSource

libvirt = pytest.importorskip("libvirt", reason="libvirt-python: pip install -e '.[libvirt]'")

from sws_agent.metering_libvirt import LibvirtSource, as_json, main  # noqa: E402

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_reads_the_test_driver_domain_as_an_instance_reading() -> None:
    source: MetricSource = LibvirtSource("test:///default", clock=lambda: NOW)
    readings = source.read_instances()
    assert [r.server_id for r in readings] == ["6695eb01-f6a4-8304-79aa-97f2502e193f"]
    reading = readings[0]
    assert reading.running and reading.read_at == NOW
    assert reading.project_id == ""  # not a Nova domain: no <nova:instance> metadata
    assert reading.flavor.vcpus == 2 and reading.flavor.ram_mb == 8192
    meters = {c.meter for c in reading.counters}
    assert "cpu" in meters
    assert dict((g.meter, g.value) for g in reading.gauges)["memory.usage"] > 0


def test_once_prints_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--uri", "test:///default", "--once"]) == 0
    assert '"server_id": "6695eb01-f6a4-8304-79aa-97f2502e193f"' in capsys.readouterr().out


def test_json_shape() -> None:
    reading = LibvirtSource("test:///default", clock=lambda: NOW).read_instances()[0]
    assert as_json(reading)["counters"][0][0] == "cpu"
