"""The long poll behind every agent's desired state: wait until the configuration version
passes what the agent has, woken at once by a change in this process and within a poll
interval by one in another API replica."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class VersionWatch:
    """One kind of configuration (LB nodes, CDN edges) that agents long-poll on."""

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._changed = threading.Condition()

    def changed(self) -> None:
        """Wake this process's long polls: a change has committed."""
        with self._changed:
            self._changed.notify_all()

    def wait_past(self, read: Callable[[], int], *, after: int, timeout: float) -> int:
        """The version `read()` gives once it passes `after`, or after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = read()
            remaining = deadline - time.monotonic()
            if found > after or remaining <= 0:
                return found
            with self._changed:
                self._changed.wait(min(self.poll_seconds, remaining))
