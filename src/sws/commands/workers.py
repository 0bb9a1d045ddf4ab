"""`sws worker events|reconcile|mail`: the long-running workers of a distributed SWS.

    sws worker events [--region R]            consume OpenStack notifications from RabbitMQ
    sws worker reconcile [--region R] [--once] repair drift against the cloud's own lists
    sws worker mail [--once]                  send the mail outbox (N of them share it)

Both stop cleanly on SIGTERM or Ctrl-C; settings come from SWS_* (docs/openstack.md).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated, Any

import typer

from sws import bootstrap
from sws.commands import billing as billing_commands
from sws.commands import common

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


def _setup() -> bootstrap.Container:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    container = common.container()
    billing_commands.warn_billing(container, to_log=True)  # an empty catalog bills nothing
    return container


@app.command("events")
def events_worker(
    region: Region = "",
    batch_size: Annotated[int, typer.Option(min=1, max=5000)] = 200,
) -> None:
    """Consume Nova/Neutron/Glance/Octavia notifications; ack after each batch commits."""
    from sws.events.listener import NotificationListener

    container = _setup()
    settings = container.settings
    listener = NotificationListener(
        db=container.db, clock=container.clock, region=region or container.default_region,
        transport_url=settings.transport_url, queue=settings.events_queue,
        batch_size=batch_size,
    )
    listener.run(_stop_event())


@app.command("reconcile")
def reconcile_worker(
    region: Region = "",
    once: Annotated[bool, typer.Option(help="One pass, then exit.")] = False,
) -> None:
    """List servers and floating IPs from the cloud and repair missed events."""
    from sws.drivers.openstack import OpenStackDriver
    from sws.reconcile.service import reconcile_once

    container = _setup()
    name = region or container.default_region
    driver = container.driver(name)
    if not isinstance(driver, OpenStackDriver):
        raise typer.BadParameter("the reconciler needs SWS_DRIVER=openstack", param_hint="driver")
    stop = _stop_event()
    log = logging.getLogger("sws.reconcile")
    while not stop.is_set():
        try:
            report = reconcile_once(db=container.db, clock=container.clock, cloud=driver,
                                    region=name)
            log.info("pass done: closed %d, opened %d", len(report.closed), len(report.opened))
        except Exception:  # the cloud or the database failed: log, wait, try again
            log.exception("reconcile pass failed")
        if once:
            return
        stop.wait(container.settings.reconcile_interval_seconds)


@app.command("mail")
def mail_worker(
    once: Annotated[bool, typer.Option(help="Send what is due, then exit.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between passes.")] = 2.0,
) -> None:
    """Send the mail outbox through SWS_SMTP_HOST, retrying failures with backoff."""
    container = _setup()
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
