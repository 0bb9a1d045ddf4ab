"""`sws-agent lb`: the command line, the logging set-up and the signal handling."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from sws.loadbalancer.renderer import RenderOptions
from sws_agent.api import add_api_arguments, credentials, run_until_signalled, seconds
from sws_agent.lb._agent import LBAgent, load_address_map
from sws_agent.lb._haproxy import HAPROXY
from sws_agent.lb._runner import Runner
from sws_agent.lb._source import HttpSource

DESCRIPTION = "keeps the HAProxy of one LB node in step with the desired state in SWS"
log = logging.getLogger("sws_agent.lb")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    opts = RenderOptions(
        run_dir=Path(args.run_dir),
        bind=tuple(args.bind or ()),
        http_port=args.http_port,
        spares_per_shape=args.spares,
        maxconn=args.maxconn,
    )
    agent = LBAgent.create(opts, load_address_map(args.address_map), args.haproxy, args.node)
    if args.stop:
        agent.haproxy.stop()
        return 0
    signed = credentials(args, log)
    if signed is None:
        return 2
    runner = Runner(
        agent, HttpSource(args.api, signed, args.node), report_interval=args.report_interval
    )
    log.info("node %s: following %s, HAProxy files in %s", args.node, args.api, args.run_dir)
    return run_until_signalled(runner)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sws-agent lb", description=DESCRIPTION)
    add_api_arguments(parser)
    parser.add_argument(
        "--node", default="lb-1", help="this node's name in SWS_LB_NODES (default lb-1)"
    )
    parser.add_argument(
        "--run-dir",
        default="/var/lib/sws-agent/lb",
        help="HAProxy's configuration, maps, sockets and state",
    )
    parser.add_argument(
        "--bind",
        action="append",
        default=None,
        help="an address to listen on (repeat; default: the node's address "
        "in SWS_LB_NODES, 0.0.0.0 for every address)",
    )
    parser.add_argument(
        "--http-port", type=int, default=None, help="the L7 port (default SWS_LB_HTTP_PORT, 80)"
    )
    parser.add_argument(
        "--report-interval",
        type=seconds,
        default=0.5,
        help="seconds between health and traffic reports (default 0.5)",
    )
    parser.add_argument("--maxconn", type=int, default=4000)
    parser.add_argument("--spares", type=int, default=2, help="spare backends per shape")
    parser.add_argument(
        "--address-map",
        type=Path,
        default=None,
        help="JSON {fixed_ip:port: address:port}, for tests and demos only",
    )
    parser.add_argument("--haproxy", default=HAPROXY, help="the haproxy binary")
    parser.add_argument("--stop", action="store_true", help="stop this node's HAProxy and exit")
    return parser
