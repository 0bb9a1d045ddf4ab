"""A webhook receiver that trickles its answer is cut off at the notifier's deadline, so it
holds neither the sender nor the notices behind it, nor outlives the notice's claim."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from sws.clock import SimulatedClock
from sws.metering.notifiers import DeliveryFailed, Notifiers, SmtpSettings
from sws.metering.targets import WebhookTargets

TRICKLE_SECONDS = 30  # how long the receiver keeps trickling: the old sender waited it out


class Trickler:
    """A receiver on 127.0.0.1 that reads the POST, then answers one header byte at a time,
    each within the notifier's per-read timeout, for TRICKLE_SECONDS."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped, self.hung_up = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            ends = time.monotonic() + TRICKLE_SECONDS
            while time.monotonic() < ends and not self.stopped.wait(0.2):
                try:
                    connection.sendall(b"a")
                except OSError:
                    self.hung_up.set()
                    return

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    receiver = Trickler()
    yield receiver
    receiver.close()


def test_a_trickled_answer_is_cut_off_at_the_deadline(
    trickler: Trickler, clock: SimulatedClock
) -> None:
    targets = WebhookTargets(allow_private=True)
    notifiers = Notifiers(clock=clock, smtp=SmtpSettings(), timeout=2, deadline=1.5,
                          targets=lambda: targets)
    action = {"type": "webhook", "url": f"http://127.0.0.1:{trickler.port}/hook",
              "secret": "s" * 24}
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match=r"no answer within 1\.5 s"):
        notifiers.send(action, b"{}", "delivery-1")
    assert time.monotonic() - started < 10  # not the trickle's 30 s
    assert trickler.hung_up.wait(5)  # the sender closed the connection
