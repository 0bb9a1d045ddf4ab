"""`sws-agent cdn`: the command line, the logging set-up and the signal handling."""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from sws_agent.api import add_api_arguments, credentials, run_until_signalled, seconds
from sws_agent.cdn._agent import CDNAgent
from sws_agent.cdn._runner import Runner
from sws_agent.cdn._source import HttpSource
from sws_agent.cdn._terminator import Terminator, TerminatorOptions
from sws_agent.cdn._traffic import (
    ROTATE_BYTES,
    ROTATE_SECONDS,
    AccessLog,
    TrafficMeter,
    http_sender,
)
from sws_agent.cdn._varnish import VARNISHADM, VARNISHD, Varnish, VarnishOptions
from sws_agent.lb._haproxy import HAPROXY

DESCRIPTION = "keeps the Varnish of one CDN edge in step with the desired state in SWS"
log = logging.getLogger("sws_agent.cdn")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    options = VarnishOptions(
        run_dir=Path(args.run_dir), listen=tuple(args.listen or ["0.0.0.0:80"]),
        storage=args.storage, varnishd=args.varnishd, varnishadm=args.varnishadm,
        identity=args.edge,
    )
    varnish = Varnish(options)
    terminator = _terminator(args, options)
    if args.stop:
        if terminator is not None:
            terminator.stop()
        varnish.stop()
        AccessLog(options).stop()
        return 0
    signed = credentials(args, log)
    if signed is None:
        return 2
    runner = Runner(CDNAgent(varnish, terminator), HttpSource(args.api, signed, args.edge),
                    report_interval=args.report_interval)
    access_log = AccessLog(options, rotate_bytes=args.log_rotate_bytes,
                           rotate_seconds=args.log_rotate_seconds)
    meter = TrafficMeter(access_log, http_sender(args.api, signed, args.edge),
                         interval=args.traffic_interval, stopping=runner.stopping)
    threading.Thread(target=meter.run, name="cdn-traffic", daemon=True).start()
    log.info("edge %s: following %s, Varnish files in %s", args.edge, args.api, args.run_dir)
    return run_until_signalled(runner)


def _whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`."""
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"give a whole number from {low} to {high}")
        return value
    return parse


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
    parser.add_argument("--traffic-interval", type=seconds, default=5.0,
                        help="seconds between traffic reports (default 5)")
    parser.add_argument("--log-rotate-bytes", type=_whole(1 << 12, 1 << 40),
                        default=ROTATE_BYTES,
                        help="rotate the access log at this size (default 64 MiB)")
    parser.add_argument("--log-rotate-seconds", type=_whole(1, 7 * 86400),
                        default=ROTATE_SECONDS,
                        help="rotate the access log at this age (default 3600)")
    parser.add_argument("--http-listen", default=None,
                        help="ADDRESS:PORT of the TLS terminator's HTTP listener (HAProxy in "
                             "front of Varnish; needed for HTTPS and signed URLs)")
    parser.add_argument("--https-listen", default=None,
                        help="ADDRESS:PORT of the TLS terminator's HTTPS listener")
    parser.add_argument("--haproxy", default=HAPROXY)
    parser.add_argument("--varnishd", default=VARNISHD)
    parser.add_argument("--varnishadm", default=VARNISHADM)
    parser.add_argument("--stop", action="store_true", help="stop this edge's Varnish and exit")
    return parser


def _terminator(args: argparse.Namespace, varnish: VarnishOptions) -> Terminator | None:
    """HAProxy in front of Varnish when the edge listens through it (both listeners given)."""
    if not args.http_listen or not args.https_listen:
        return None
    return Terminator(TerminatorOptions(
        run_dir=varnish.run_dir / "terminator", http_listen=args.http_listen,
        https_listen=args.https_listen, front_socket=varnish.front_socket, binary=args.haproxy,
    ))
