"""`sws-agent cdn`: the command line, the logging set-up and the signal handling."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from sws_agent.api import add_api_arguments, credentials, run_until_signalled, seconds
from sws_agent.cdn._agent import CDNAgent
from sws_agent.cdn._runner import Runner
from sws_agent.cdn._source import HttpSource
from sws_agent.cdn._varnish import VARNISHADM, VARNISHD, Varnish, VarnishOptions

DESCRIPTION = "keeps the Varnish of one CDN edge in step with the desired state in SWS"
log = logging.getLogger("sws_agent.cdn")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    options = VarnishOptions(
        run_dir=Path(args.run_dir), listen=tuple(args.listen or ["0.0.0.0:80"]),
        storage=args.storage, varnishd=args.varnishd, varnishadm=args.varnishadm,
    )
    varnish = Varnish(options)
    if args.stop:
        varnish.stop()
        return 0
    signed = credentials(args, log)
    if signed is None:
        return 2
    runner = Runner(CDNAgent(varnish), HttpSource(args.api, signed, args.edge),
                    report_interval=args.report_interval)
    log.info("edge %s: following %s, Varnish files in %s", args.edge, args.api, args.run_dir)
    return run_until_signalled(runner)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sws-agent cdn", description=DESCRIPTION)
    add_api_arguments(parser)
    parser.add_argument("--edge", default="edge-1",
                        help="this edge's name in SWS_CDN_EDGES (default edge-1)")
    parser.add_argument("--run-dir", default="/var/lib/sws-agent/cdn",
                        help="Varnish's working directory, VCL files, pid and purge socket")
    parser.add_argument("--listen", action="append", default=None,
                        help="ADDRESS:PORT clients reach the edge on (repeat; default "
                             "0.0.0.0:80)")
    parser.add_argument("--storage", default="malloc,256m",
                        help="varnishd -s (default malloc,256m)")
    parser.add_argument("--report-interval", type=seconds, default=1.0,
                        help="seconds between heartbeats (default 1)")
    parser.add_argument("--varnishd", default=VARNISHD)
    parser.add_argument("--varnishadm", default=VARNISHADM)
    parser.add_argument("--stop", action="store_true", help="stop this edge's Varnish and exit")
    return parser

