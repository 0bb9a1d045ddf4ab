"""`sws-agent metering`: read per-instance meters from the local libvirt, as Ceilometer does.

    sws-agent metering [--uri qemu:///system] [--interval 10] [--once]

One `domainListGetStats` call per poll reads every domain's CPU time, balloon memory, block and
interface counters; `blockStats`/`interfaceStats` fill in a device the bulk call did not cover.
Nova writes the instance's project and flavor into the domain XML (`<nova:instance>` metadata);
a domain without it (not a Nova instance) is reported with an empty project.

`LibvirtSource.read_instances()` conforms to `sws.drivers.base.MetricSource`, so the metering
domain consumes it exactly as it consumes the simulated region's workload. Counters are
cumulative since the domain started (cpu in ns, bytes, requests); gauges are point values.
Tested against libvirt's built-in `test:///default` driver (no daemon needed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sws.drivers.base import CounterReading, Flavor, InstanceReading

NOVA_NS = {"nova": "http://openstack.org/xmlns/libvirt/nova/1.1"}
RUNNING = 1  # VIR_DOMAIN_RUNNING


class LibvirtSource:
    """A `MetricSource` over one libvirt connection (`uri`)."""

    def __init__(self, uri: str = "qemu:///system",
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        import importlib

        libvirt: Any = importlib.import_module("libvirt")  # ships no type hints
        self._libvirt = libvirt
        self._conn: Any = libvirt.openReadOnly(uri) if uri != "test:///default" \
            else libvirt.open(uri)
        self._clock = clock

    def read_instances(self) -> Sequence[InstanceReading]:
        lv = self._libvirt
        stats = (lv.VIR_DOMAIN_STATS_STATE | lv.VIR_DOMAIN_STATS_CPU_TOTAL
                 | lv.VIR_DOMAIN_STATS_BALLOON | lv.VIR_DOMAIN_STATS_VCPU
                 | lv.VIR_DOMAIN_STATS_INTERFACE | lv.VIR_DOMAIN_STATS_BLOCK)
        now = self._clock()
        domains = self._conn.listAllDomains(0)
        if not domains:
            return []
        return [self._reading(dom, values, now)
                for dom, values in self._conn.domainListGetStats(domains, stats)]

    def _reading(self, dom: Any, values: dict[str, Any], now: datetime) -> InstanceReading:
        project, flavor = _nova_metadata(dom.XMLDesc(0), dom)
        counters = [CounterReading("cpu", float(values.get("cpu.time", 0)))]
        counters += _devices(dom, values)
        memory = float(values.get("balloon.current", dom.info()[2])) / 1024
        gauges = [CounterReading("memory.usage", memory),
                  CounterReading("vcpus", float(values.get("vcpu.current", flavor.vcpus)))]
        if "balloon.rss" in values:
            gauges.append(CounterReading("memory.resident", float(values["balloon.rss"]) / 1024))
        return InstanceReading(
            server_id=dom.UUIDString(), project_id=project, flavor=flavor, read_at=now,
            running=values.get("state.state") == RUNNING, counters=tuple(counters),
            gauges=tuple(gauges),
        )


def _devices(dom: Any, values: dict[str, Any]) -> list[CounterReading]:
    found: list[CounterReading] = []
    for index in range(int(values.get("net.count", 0))):
        name = str(values.get(f"net.{index}.name", f"net{index}"))
        rx = values.get(f"net.{index}.rx.bytes")
        tx = values.get(f"net.{index}.tx.bytes")
        if rx is None or tx is None:  # not in the bulk stats: ask the interface itself
            stats = dom.interfaceStats(name)
            rx, tx = stats[0], stats[4]
        found += [CounterReading("network.incoming.bytes", float(rx), name),
                  CounterReading("network.outgoing.bytes", float(tx), name)]
    for index in range(int(values.get("block.count", 0))):
        name = str(values.get(f"block.{index}.name", f"vd{index}"))
        rd = values.get(f"block.{index}.rd.bytes")
        wr = values.get(f"block.{index}.wr.bytes")
        if rd is None or wr is None:
            stats = dom.blockStats(name)  # (rd_req, rd_bytes, wr_req, wr_bytes, errs)
            rd, wr = stats[1], stats[3]
        found += [CounterReading("disk.device.read.bytes", float(rd), name),
                  CounterReading("disk.device.write.bytes", float(wr), name)]
    return found


def _nova_metadata(xml: str, dom: Any) -> tuple[str, Flavor]:
    """The Nova project and flavor of a domain, or the domain's own size if Nova is absent."""
    root = ET.fromstring(xml)
    node = root.find(".//nova:instance", NOVA_NS)
    _state, max_kib, _mem, vcpus, _cpu = dom.info()
    if node is None:
        return "", Flavor(id="", name="", vcpus=int(vcpus), ram_mb=int(max_kib) // 1024,
                          disk_gb=0)
    project = node.find("nova:owner/nova:project", NOVA_NS)
    flavor = node.find("nova:flavor", NOVA_NS)

    def num(tag: str) -> int:
        found = flavor.find(f"nova:{tag}", NOVA_NS) if flavor is not None else None
        return int(found.text or 0) if found is not None else 0

    name = flavor.get("name", "") if flavor is not None else ""
    return (
        project.get("uuid", "") if project is not None else "",
        Flavor(id=name, name=name, vcpus=num("vcpus") or int(vcpus),
               ram_mb=num("memory") or int(max_kib) // 1024, disk_gb=num("disk")),
    )


def as_json(reading: InstanceReading) -> dict[str, Any]:
    return {
        "server_id": reading.server_id, "project_id": reading.project_id,
        "flavor": reading.flavor.name, "read_at": reading.read_at.isoformat(),
        "running": reading.running,
        "counters": [[c.meter, c.device, c.value] for c in reading.counters],
        "gauges": [[g.meter, g.device, g.value] for g in reading.gauges],
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="sws-agent metering", description=__doc__.split("\n")[0])
    parser.add_argument("--uri", default="qemu:///system")
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--once", action="store_true", help="one poll, printed as JSON lines")
    args = parser.parse_args(list(argv))
    source = LibvirtSource(args.uri)
    while True:
        for reading in source.read_instances():
            print(json.dumps(as_json(reading)), flush=True)
        if args.once:
            return 0
        try:
            time.sleep(args.interval)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
