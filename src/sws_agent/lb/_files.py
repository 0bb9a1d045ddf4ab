"""The node's run directory: HAProxy's configuration, its two maps and its saved server state.

Every file is written to a staged name and renamed into place, so HAProxy (or a reload by
someone else) never reads half a file. `FileWriter` renders and writes them in the background
after a runtime change, off the change's critical path: the running worker never rereads them,
only the next reload does, and every reload waits for the writer first.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sws.loadbalancer.model import DesiredState
from sws.loadbalancer.renderer import Rendered, RenderOptions, render

log = logging.getLogger("sws_agent.lb")


@dataclass(frozen=True, slots=True)
class RunDir:
    """Where one node's HAProxy files live."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / "haproxy.cfg"

    @property
    def staged_config(self) -> Path:
        return self.path / "haproxy.cfg.new"

    @property
    def maps(self) -> tuple[Path, Path]:
        """(hosts.map, ports.map): L7 by Host header, L4 by destination port."""
        return (self.path / "hosts.map", self.path / "ports.map")

    @property
    def server_state(self) -> Path:
        return self.path / "server-state"

    def write(self, rendered: Rendered, config: Path) -> None:
        """The maps in place and the configuration at `config` (the live or the staged one)."""
        hosts, ports = self.maps
        for path, text in (
            (config, rendered.config),
            (hosts, rendered.hosts_map),
            (ports, rendered.ports_map),
        ):
            _replace(path, text)

    def save_server_state(self, text: str | None) -> None:
        """What the old worker knew of each server, for the next one (empty at a first start)."""
        if text is None:
            self.server_state.touch()
        else:
            self.server_state.write_text(text)


def _replace(path: Path, text: str) -> None:
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(text)
    staged.replace(path)


@dataclass
class FileWriter:
    """Renders and writes the newest submitted state in a daemon thread, coalescing bursts.

    A write waits until no change came for `linger` seconds (at most `max_lag` after the first
    one), so a burst of changes costs one render, and none runs between two close changes.
    `settle` (every reload calls it) writes what is pending at once and waits for it; `drop`
    forgets it (a reload writes newer itself). `rendered`/`version` are what the files hold.
    A crash before a write leaves older files; the agent's start renders and reloads them all.
    """

    files: RunDir
    linger: float = 0.2
    max_lag: float = 2.0
    delay: float = 0.0  # seconds before each write: a slow disk, for the kill -9 test
    rendered: Rendered | None = None
    version: int = -1
    _pending: tuple[DesiredState, RenderOptions] | None = None
    _submitted: float = 0.0
    _hurry: bool = False
    _busy: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None

    def submit(self, state: DesiredState, opts: RenderOptions) -> None:
        with self._changed:
            self._pending, self._submitted = (state, opts), time.monotonic()
            self._changed.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="lb-files", daemon=True)
                self._thread.start()

    def written(self, rendered: Rendered, version: int) -> None:
        """Record a synchronous write (start or reload), newer than anything pending."""
        with self._changed:
            self.rendered, self.version = rendered, version

    def settle(self, timeout: float | None = None) -> bool:
        """Write what is pending now and wait for it; False if `timeout` ran out."""
        with self._changed:
            self._hurry = self._pending is not None
            self._changed.notify_all()
            return self._changed.wait_for(
                lambda: self._pending is None and not self._busy, timeout=timeout
            )

    def drop(self) -> None:
        """Forget the pending write and wait for one in progress (the caller writes newer)."""
        with self._changed:
            self._pending = None
            self._changed.notify_all()
            self._changed.wait_for(lambda: not self._busy)

    def _loop(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                continue
            try:
                self._write(*taken)
            except (OSError, ValueError) as exc:  # the next reload writes every file again
                log.warning("writing the HAProxy files failed: %s", exc)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def _take(self) -> tuple[DesiredState, RenderOptions] | None:
        """The pending state once it has lingered (or is hurried); None if it was dropped."""
        with self._changed:
            self._changed.wait_for(lambda: self._pending is not None)
            first = time.monotonic()
            while self._pending is not None and not self._hurry:
                due = min(self._submitted + self.linger, first + self.max_lag)
                if time.monotonic() >= due:
                    break
                self._changed.wait(due - time.monotonic())
            taken, self._pending, self._hurry = self._pending, None, False
            self._busy = taken is not None
            return taken

    def _write(self, state: DesiredState, opts: RenderOptions) -> None:
        if self.delay:
            time.sleep(self.delay)
        rendered = render(state, opts)
        self.files.write(rendered, self.files.config)
        with self._changed:
            self.rendered, self.version = rendered, state.version
