"""`sws-agent lb`: keeps the HAProxy of one LB node in step with the desired state in SWS.

    sws-agent lb --api URL --node NAME [--token TOKEN] [--run-dir DIR] [--bind ADDR ...]
                 [--http-port PORT] [--report-interval SECONDS] [--address-map FILE] [--stop]

Without `--bind` it listens on the node's shared address from `SWS_LB_NODES` (the desired
state carries every node's address), not on every address of the host. docs/loadbalancer.md
gives the whole deployment, with the systemd unit in deploy/systemd/.

HAProxy 2.6 runs in master-worker mode as a daemon, so it outlives the agent. At start the
agent renders the whole configuration (`sws.loadbalancer.renderer`), checks it with
`haproxy -c`, and starts HAProxy, or, when a master is already running, reloads it hitlessly
(listening sockets pass from the old worker to the new one; the old worker finishes its
connections). From then on it long-polls SWS for new state versions and applies each one:

- through the runtime API, without a reload, whenever it can: `add map`/`del map`/`set map`
  on hosts.map (L7, by Host header) and ports.map (L4, by destination port); `add server`,
  `enable health`, `enable server` into the LB's backend or into a pre-declared spare backend
  of the same shape; `set server ... weight|state`; `disable server` + `shutdown sessions` +
  `del server` to remove one;
- with a hitless reload (`reload` on the master CLI, like USR2) when it cannot: no spare of
  the new LB's shape is left, or a backend-level setting (algorithm, health-check kind, path,
  codes, check timeout) or a server's address, backup flag or check timing changed.

A plan is either all runtime commands or one reload; if a runtime command fails the agent
falls back to a reload, so HAProxy always converges and never holds half a change. Every half
second it reads `show stat` once and reports each member's health (up, down, maint), which is
also the node's heartbeat for DNS, and each LB's bytes out since the last report.

`--address-map` (JSON: {"10.0.0.5:80": "127.0.0.1:18001"}) rewrites member addresses before
they reach HAProxy. It exists for tests and demos, where instances of the simulated region are
stood in for by local processes; production nodes route to the instances' fixed IPs.

The agent logs a line when it has started (the version it loaded) and one per applied change
(the version and how: runtime commands or a reload). On SIGTERM or Ctrl-C it exits within a
second, even in the middle of a long poll; HAProxy keeps serving (`--stop` stops it).

The package's modules, each behind this public API:

- `_haproxy`: the CLI sockets, `show proc`/`show stat` parsing, the master-worker process;
- `_plan`: what the worker holds and the runtime commands that take it to a desired state;
- `_files`: the run directory (configuration, maps, server state), written atomically;
- `_traffic`: bytes out per LB across reloads and reused spare backends;
- `_agent`: `LBAgent`, which applies states and reads health and traffic back;
- `_source`: the SWS API (long poll, reports) or an in-memory source;
- `_runner`: the apply and report loops; `_cli`: the command line and signals.
"""

from sws_agent.lb._agent import LBAgent, listen_addresses, load_address_map, translate
from sws_agent.lb._cli import main
from sws_agent.lb._haproxy import (
    HAPROXY,
    AgentError,
    HAProxy,
    Proc,
    health_of,
    parse_backend_bytes,
    parse_show_proc,
    parse_show_stat,
    unix_command,
)
from sws_agent.lb._plan import Live, Plan, plan
from sws_agent.lb._runner import Runner
from sws_agent.lb._source import HttpSource, MemorySource, StateSource
from sws_agent.lb._traffic import Traffic

__all__ = [
    "HAPROXY",
    "AgentError",
    "HAProxy",
    "HttpSource",
    "LBAgent",
    "Live",
    "MemorySource",
    "Plan",
    "Proc",
    "Runner",
    "StateSource",
    "Traffic",
    "health_of",
    "listen_addresses",
    "load_address_map",
    "main",
    "parse_backend_bytes",
    "parse_show_proc",
    "parse_show_stat",
    "plan",
    "translate",
    "unix_command",
]
