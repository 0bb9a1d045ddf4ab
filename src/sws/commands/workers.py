"""`sws worker events|reconcile|mail`: the long-running workers of a distributed SWS.

    sws worker events [--region R]            consume OpenStack notifications from RabbitMQ
    sws worker reconcile [--region R] [--once] repair drift against the cloud's own lists
    sws worker ticker                         the farmer, metering jobs, alarms, the month close
    sws worker alarms                         the alarm evaluator and notice delivery alone
    sws worker mail [--once]                  send the mail outbox (N of them share it)

Both stop cleanly on SIGTERM or Ctrl-C; settings come from SWS_* (docs/openstack.md).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from sws import bootstrap
from sws.commands import billing as billing_commands
from sws.commands import common
from sws.leases import service as leases
from sws.observability import logs
from sws.observability.metrics import Exporter
from sws.observability.server import WorkerEndpoints, serve

app = typer.Typer(help="Workers: RabbitMQ listener, reconciler, mail sender.",
                  no_args_is_help=True)
Region = Annotated[str, typer.Option(help="Region (default: the first one).")]


def _stop_event() -> threading.Event:
    stop = threading.Event()

    def handler(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


MetricsPort = Annotated[int, typer.Option(
    min=0, max=65535, help="Serve /metrics, /healthz and /readyz on this port (0: off).")]
MetricsHost = Annotated[str, typer.Option(help="Address of the --metrics-port.")]


def _setup(role: str, metrics_port: int = 0, metrics_host: str = "127.0.0.1"
           ) -> bootstrap.Container:
    container = common.container()
    logs.configure(container.settings.log_format)
    if metrics_port:
        exporter = Exporter(db=container.db, clock=container.clock, role=role)
        endpoints = WorkerEndpoints(exporter=exporter, db=container.db, role=role)
        serve(endpoints, host=metrics_host, port=metrics_port)
    billing_commands.warn_billing(container, to_log=True)  # an empty catalog bills nothing
    return container


@app.command("events")
def events_worker(
    region: Region = "",
    batch_size: Annotated[int, typer.Option(min=1, max=5000)] = 1000,
    metrics_port: MetricsPort = 0, metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Consume Nova/Neutron/Glance/Octavia notifications; ack after each batch commits."""
    from sws.events.listener import NotificationListener

    container = _setup("events", metrics_port, metrics_host)
    settings = container.settings
    listener = NotificationListener(
        db=container.db, clock=container.clock, region=region or container.default_region,
        transport_url=settings.transport_url, queue=settings.events_queue,
        durable_exchanges=settings.events_durable_exchanges, batch_size=batch_size,
    )
    listener.run(_stop_event())


@app.command("reconcile")
def reconcile_worker(
    region: Region = "",
    once: Annotated[bool, typer.Option(help="One pass, then exit.")] = False,
    metrics_port: MetricsPort = 0, metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """List servers and floating IPs from the cloud and repair missed events."""
    from sws.drivers.openstack import OpenStackDriver
    from sws.reconcile.service import reconcile_once

    container = _setup("reconcile", metrics_port, metrics_host)
    name = region or container.default_region
    driver = container.driver(name)
    if not isinstance(driver, OpenStackDriver):
        raise typer.BadParameter("the reconciler needs SWS_DRIVER=openstack", param_hint="driver")
    log = logging.getLogger("sws.reconcile")

    def one_pass(guard: leases.Guard) -> None:
        report = reconcile_once(db=container.db, clock=container.clock, cloud=driver,
                                region=name, guard=guard)
        log.info("pass done: closed %d, opened %d", len(report.closed), len(report.opened))

    every = container.settings.reconcile_interval_seconds
    _as_leader(container, leases.reconciler(name), one_pass, every=every, once=once)


def _as_leader(
    container: bootstrap.Container, lease: str, work: Callable[[leases.Guard], None], *,
    every: float, once: bool = False,
) -> None:
    """Run `work` every `every` seconds while this process holds `lease`, a standby otherwise.

    Each pass's writes are checked against the lease (fencing); a pass that finds the lease
    lost stops. `once`: one pass as the leader, or exit 1 if another leads for a whole TTL.
    """
    leader = leases.Leadership(db=container.db, clock=container.clock, name=lease,
                               terms=container.settings.lease_terms)
    stop, clock, log = _stop_event(), container.clock, logging.getLogger("sws.leases")
    started: datetime = clock.now()
    next_pass: datetime | None = None
    try:
        while not stop.is_set():
            if _leads(leader, log) and (next_pass is None or clock.now() >= next_pass):
                next_pass = clock.now() + timedelta(seconds=every)
                _run_pass(leader, work, log)
                if once:
                    return
            if once and clock.now() - started > leader.terms.ttl * 2:
                log.error("another process leads %s; nothing done", lease)
                raise typer.Exit(code=1)
            stop.wait(leader.terms.renew.total_seconds())
    finally:
        leader.step_down()


def _leads(leader: leases.Leadership, log: logging.Logger) -> bool:
    try:
        return leader.fence() is not None
    except Exception:  # the database is down: not leading; ask again after the interval
        log.exception("could not claim or renew %s", leader.name)
        return False


def _run_pass(
    leader: leases.Leadership, work: Callable[[leases.Guard], None], log: logging.Logger
) -> None:
    try:
        work(leader)
    except leases.LeaseLost as lost:  # another process took over: it carries on from here
        log.warning("%s", lost.detail)
        leader.lost()
    except Exception:  # the cloud or the database failed: log, wait, try again
        log.exception("%s pass failed", leader.name)


@app.command("ticker")
def ticker_worker(metrics_port: MetricsPort = 0, metrics_host: MetricsHost = "127.0.0.1"
                  ) -> None:
    """The ticker without the API: billing farmer, metering jobs, Swift sizes, payments janitor,
    mail; the alarm evaluator and the month close in whichever ticker holds their lease."""
    container = _setup("ticker", metrics_port, metrics_host)
    stop, log = _stop_event(), logging.getLogger("sws.ticker")
    while not stop.is_set():
        try:
            container.tick()
        except Exception:  # keep ticking; the next tick retries
            log.exception("tick failed")
        stop.wait(container.settings.tick_seconds)
    _step_down(container)


@app.command("alarms")
def alarms_worker(metrics_port: MetricsPort = 0, metrics_host: MetricsHost = "127.0.0.1"
                  ) -> None:
    """Evaluate alarms (in whichever process holds the alarm evaluator's lease; the others
    stand by and take over within the lease's TTL) and deliver their notices."""
    container = _setup("alarms", metrics_port, metrics_host)
    metering = container.metering
    assert metering is not None
    stop, log = _stop_event(), logging.getLogger("sws.alarms")
    log.info("alarm worker %s started; it evaluates while it holds the lease",
             metering.leadership.holder)
    while not stop.is_set():
        try:
            metering.evaluate()
            metering.deliver()
        except Exception:  # the database failed: log, wait, try again
            log.exception("alarm pass failed")
        stop.wait(container.settings.tick_seconds)
    _step_down(container)


def _step_down(container: bootstrap.Container) -> None:
    """Give up the leases this process holds, so standbys lead at once, not after the TTL."""
    for runtime in (container.metering, container.billing):
        if runtime is not None:
            runtime.leadership.step_down()


@app.command("mail")
def mail_worker(
    once: Annotated[bool, typer.Option(help="Send what is due, then exit.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between passes.")] = 2.0,
    metrics_port: MetricsPort = 0, metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Send the mail outbox through SWS_SMTP_HOST, retrying failures with backoff."""
    container = _setup("mail", metrics_port, metrics_host)
    stop = _stop_event()
    log = logging.getLogger("sws.mail")
    while not stop.is_set():
        try:
            sent = container.mail_outbox.run_once()
            if sent:
                log.info("sent %d mails", sent)
        except Exception:  # the database failed: log, wait, try again
            log.exception("mail pass failed")
        if once:
            return
        stop.wait(interval)
