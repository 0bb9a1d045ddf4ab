"""`sws-agent cdn`: keeps the Varnish of one CDN edge in step with the desired state in SWS.

    sws-agent cdn --api URL --edge NAME [--token TOKEN] [--run-dir DIR] [--listen ADDR:PORT ...]
                  [--http-listen ADDR:PORT --https-listen ADDR:PORT] [--storage malloc,256m]
                  [--report-interval SECONDS] [--stop]

At start the agent starts varnishd (Varnish 7 with varnish-modules' `xkey`) unless it already
runs from an earlier start: Varnish is a daemon and outlives the agent. From then on it
long-polls SWS (`GET /v1/admin/cdn-edges/<edge>/desired-state`) for the VCL SWS rendered
(`sws.cdn.renderer`) and the purges this edge owes, and:

- loads a new VCL with `vcl.load` (Varnish compiles and checks it; a VCL it refuses never
  becomes active) and switches to it with `vcl.use`, which drops no connection; older VCLs are
  discarded once idle. A VCL is named `sws_<its sha256>`, so the active one says what the edge
  runs. An agent killed at any point leaves Varnish on the last VCL it switched to, whole;
- carries out each purge on Varnish's private `purge` socket (by URL or by `xkey` key, soft by
  default) or, for a prefix, as a ban through the management CLI;
- reports (`POST .../report`) the digest of the active VCL and each purge as done or failed,
  at once after purging and every `--report-interval` seconds as the edge's heartbeat.

With `--http-listen` and `--https-listen` the edge also runs HAProxy in front of Varnish (its
`front` socket): HTTPS with the certificates SWS ships (by SNI, files 0600) and the signed-URL
check (`sws.cdn.terminator`); a changed configuration is checked with `haproxy -c` and loaded
by a hitless reload of the master. Varnish runs with `-i <edge>`, by which the shared VCL finds
this edge's part in origin shielding.

On SIGTERM or Ctrl-C it exits; Varnish and HAProxy keep serving (`--stop` stops them).
docs/cdn.md has the whole design.

Modules: `_varnish` (the daemon, varnishadm, the purge socket), `_terminator` (HAProxy, its
certificates), `_agent` (`CDNAgent`: apply a state, carry out purges), `_source` (the SWS
API or memory), `_runner` (the loops), `_cli`.
"""

from sws_agent.cdn._agent import CDNAgent, carry_out
from sws_agent.cdn._cli import main
from sws_agent.cdn._runner import Runner
from sws_agent.cdn._source import HttpSource, MemorySource, StateSource, Versioned
from sws_agent.cdn._terminator import Terminator, TerminatorOptions
from sws_agent.cdn._varnish import EdgeError, Varnish, VarnishOptions, vcl_name

__all__ = [
    "CDNAgent", "EdgeError", "HttpSource", "MemorySource", "Runner", "StateSource", "Terminator",
    "TerminatorOptions", "Varnish",
    "VarnishOptions", "Versioned", "carry_out", "main", "vcl_name",
]
