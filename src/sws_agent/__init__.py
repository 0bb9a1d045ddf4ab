"""Node agents of SWS: `sws-agent netfilter` (nft apply + conntrack), `sws-agent lb` (HAProxy).

    sws-agent netfilter --api URL --host NAME --token TOKEN [--target nft|iptables]
    sws-agent metering [--uri qemu:///system] [--interval 10] [--once]
    sws-agent lb --api URL --node NAME [--token TOKEN] [--run-dir DIR] [--bind ADDR]
    sws-agent cdn --api URL --edge NAME [--token TOKEN] [--run-dir DIR] [--listen ADDR:PORT]
    sws-agent island [--store DIR | --swift-auth URL ...] snapshot|restore|delete|gc|list ...
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

AGENTS = ("netfilter", "lb", "metering", "cdn", "island")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in AGENTS:
        print(f"usage: sws-agent {{{','.join(AGENTS)}}} [options]  (try: sws-agent netfilter -h)",
              file=sys.stderr)
        return 2
    if args[0] == "metering":
        from sws_agent import metering_libvirt

        return metering_libvirt.main(args[1:])
    if args[0] == "island":
        from sws_island import cli as island

        return island.main(args[1:])
    if args[0] == "cdn":
        from sws_agent import cdn

        return cdn.main(args[1:])
    if args[0] == "lb":
        from sws_agent import lb

        return lb.main(args[1:])
    from sws_agent import netfilter

    return netfilter.main(args[1:])
