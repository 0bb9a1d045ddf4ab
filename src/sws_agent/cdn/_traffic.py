"""Traffic metering of one edge: Varnish's access log, counted in windows reported once.

`varnishncsa` runs as a daemon next to varnishd (it outlives the agent too) and appends one
line per client request to `<run-dir>/access.log`: the distribution (logged by the VCL with
`std.log("sws-dist:...")`, so a client cannot forge it), the client's address, whether the
object was a hit, and the bytes sent. Requests of no distribution (unknown host names, purges)
log `-` and are skipped.

The agent reads the log in byte windows `[start, end)` ending on a line break and reports each
window's counts per (distribution, client) to SWS. Before sending, the window is written to
`<run-dir>/traffic.json` as pending; only after SWS answered does the offset move past it. An
agent killed in between resends exactly that window at its next start, and SWS, which keeps how
far each log (named by a random stream id) was counted, counts it once.

Rotation: the agent, the log's only reader, rotates it when it reaches `rotate_bytes` or is
`rotate_seconds` old. It renames `access.log` to `access.<stream>.log` (varnishncsa keeps
appending to the renamed file) and sends varnishncsa SIGHUP, which closes that file and opens a
new `access.log`. The stream's windows keep being read from the renamed file, at the same
offsets, so a pending window survives the rename. Once the new `access.log` exists the old file
is closed for good: when it has been counted to its end, a new stream starts at offset 0 of the
new log and the old file is deleted. Nothing is read twice (offsets never move back within a
stream) and nothing is lost (the old file is left only when read to its end after its close).
A crash at any step resumes from the state file and the file names.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import threading
import time
import urllib.error
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sws_agent.api import AdminApi
from sws_agent.cdn._varnish import VarnishOptions
from sws_agent.credentials import Credentials

log = logging.getLogger("sws_agent.cdn")
VARNISHNCSA = "varnishncsa"
FORMAT = "%{VCL_Log:sws-dist}x %h %{Varnish:handling}x %O"
HITS = ("hit",)  # `Varnish:handling`: hit, miss, pass, pipe or synth; a grace hit is a hit
MAX_WINDOW = 4 << 20  # bytes of log per report
ROTATE_BYTES = 64 << 20  # a log this large is rotated ...
ROTATE_SECONDS = 3600  # ... and so is one this old (with something in it)


@dataclass(frozen=True, slots=True)
class Window:
    """A byte window of the access log and the counts it holds, as SWS takes them."""

    stream: str
    start: int
    end: int
    rows: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"stream": self.stream, "start": self.start, "end": self.end,
                "rows": list(self.rows)}


def count_lines(lines: Iterable[str]) -> tuple[dict[str, Any], ...]:
    """Counts per (distribution, client) of access-log lines in `FORMAT`."""
    counts: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        words = line.split()
        if len(words) != 4 or words[0] == "-" or not words[3].isdigit():
            continue
        dist, client, handling, sent = words
        row = counts.setdefault((dist, client), {
            "distribution": dist, "client": client, "hit_requests": 0, "miss_requests": 0,
            "hit_bytes": 0, "miss_bytes": 0})
        kind = "hit" if handling in HITS else "miss"
        row[f"{kind}_requests"] += 1
        row[f"{kind}_bytes"] += int(sent)
    return tuple(counts[key] for key in sorted(counts))


@dataclass
class AccessLog:
    """The edge's varnishncsa daemon and its log, read window by window."""

    options: VarnishOptions
    varnishncsa: str = VARNISHNCSA
    rotate_bytes: int = ROTATE_BYTES
    rotate_seconds: float = ROTATE_SECONDS
    now: Callable[[], float] = time.time

    @property
    def path(self) -> Path:
        """Where varnishncsa writes: the current log."""
        return self.options.run_dir / "access.log"

    def rotated(self, stream: str) -> Path:
        """Where a stream's log is once rotated away, until counted to its end."""
        return self.options.run_dir / f"access.{stream}.log"

    def _file(self, state: dict[str, Any]) -> Path:
        """The counted stream's file: its rotated name while it is drained, else the log."""
        rotated = self.rotated(str(state.get("stream", "")))
        return rotated if "stream" in state and rotated.exists() else self.path

    @property
    def pidfile(self) -> Path:
        return self.options.run_dir / "varnishncsa.pid"

    @property
    def statefile(self) -> Path:
        return self.options.run_dir / "traffic.json"

    def running(self) -> bool:
        try:
            os.kill(int(self.pidfile.read_text().strip()), 0)
        except (OSError, ValueError):
            return False
        return True

    def start(self) -> None:
        """Start varnishncsa unless it runs; a new log is a new stream."""
        if self.running():
            return
        state = self._state()
        if "stream" not in state or not self._file(state).exists():
            # A log without a state may hold counted lines: the new stream starts at its end.
            size = self.path.stat().st_size if self.path.exists() else 0
            self._save({"stream": secrets.token_hex(16), "offset": size, "pending": None,
                        "since": self.now()})
            self.path.touch()
        o = self.options
        command = [*o.prefix, self.varnishncsa, "-n", str(o.workdir), "-a", "-w", str(self.path),
                   "-D", "-P", str(self.pidfile), "-F", FORMAT]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        if done.returncode != 0:
            raise OSError(f"varnishncsa did not start: {done.stderr.strip() or done.stdout}")

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, number: int) -> None:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(self.pidfile.read_text().strip()), number)

    def rotate_if_due(self) -> bool:
        """Rotate the log when it is `rotate_bytes` large or `rotate_seconds` old (and not
        empty); True when it was rotated now."""
        state = self._state()
        if "stream" not in state or self._file(state) != self.path or not self.path.exists():
            return False  # no stream yet, or the last rotation is still being drained
        size = self.path.stat().st_size
        since = state.get("since")
        if since is None:  # a state from before rotation: its age starts now
            self._save({**state, "since": self.now()})
            return False
        if size < self.rotate_bytes and not (size and self.now() - since >= self.rotate_seconds):
            return False
        os.replace(self.path, self.rotated(state["stream"]))
        self._signal(signal.SIGHUP)  # varnishncsa reopens access.log (if dead: start() will)
        return True

    def next_window(self) -> Window | None:
        """The pending window if one is (resent as it was), else the next complete lines."""
        state = self._state()
        source = self._file(state)
        closed = source != self.path and self.path.exists()  # reopened: the old file is final
        pending = state.get("pending")
        if pending is not None:
            start, end = pending
        else:
            start = int(state["offset"])
            end = start + self._complete(source, start)
            if end == start:
                if closed:
                    self._next_stream(source)
                return None
            self._save({**state, "pending": [start, end]})
        return Window(state["stream"], start, end, count_lines(self._read(source, start, end)))

    def _next_stream(self, drained: Path) -> None:
        """The rotated file is counted to its end: the new log is a new stream from 0."""
        self._save({"stream": secrets.token_hex(16), "offset": 0, "pending": None,
                    "since": self.now()})
        drained.unlink(missing_ok=True)
        for leftover in self.options.run_dir.glob("access.*.log"):  # a crash mid-switch
            leftover.unlink(missing_ok=True)

    def done(self, window: Window) -> None:
        """SWS has the window: move past it."""
        self._save({**self._state(), "offset": window.end, "pending": None})

    def _complete(self, source: Path, start: int) -> int:
        """How many bytes from `start` make whole lines (at most `MAX_WINDOW`)."""
        with source.open("rb") as log_file:
            log_file.seek(start)
            chunk = log_file.read(MAX_WINDOW)
        return chunk.rfind(b"\n") + 1

    def _read(self, source: Path, start: int, end: int) -> list[str]:
        with source.open("rb") as log_file:
            log_file.seek(start)
            return log_file.read(end - start).decode(errors="replace").splitlines()

    def _state(self) -> dict[str, Any]:
        try:
            found: dict[str, Any] = json.loads(self.statefile.read_text())
        except (OSError, ValueError):
            return {}
        return found

    def _save(self, state: dict[str, Any]) -> None:
        staged = self.statefile.with_suffix(".tmp")
        staged.write_text(json.dumps(state))
        os.replace(staged, self.statefile)


@dataclass
class TrafficMeter:
    """Reports the access log's windows every `interval` seconds through `send` (which
    raises when SWS did not take the window)."""

    access_log: AccessLog
    send: Callable[[dict[str, Any]], None]
    interval: float = 5.0
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Report at once (which starts varnishncsa early: it meters only from when it attached),
        then every `interval` seconds until `stopping`."""
        while True:
            self.report_once()
            if self.stopping.wait(self.interval):
                return

    def report_once(self) -> bool:
        """Send the next window, if any; True when one was taken."""
        try:
            self.access_log.start()
            self.access_log.rotate_if_due()
            window = self.access_log.next_window()
            if window is None:
                return False
            self._send(window)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("traffic report failed: %s", exc)
            return False
        self.access_log.done(window)
        return True

    def _send(self, window: Window) -> None:
        try:
            self.send(window.to_json())
        except urllib.error.HTTPError as exc:
            if exc.code != 409:
                raise
            log.warning("traffic window %d-%d was partly counted before; skipped",
                        window.start, window.end)


def http_sender(api: str, token: str | Credentials, edge: str
                ) -> Callable[[dict[str, Any]], None]:
    """`send` for `TrafficMeter`: POST /v1/admin/cdn-edges/<edge>/traffic."""
    admin = AdminApi(api, token)

    def send(window: dict[str, Any]) -> None:
        admin.post_json(f"/v1/admin/cdn-edges/{edge}/traffic", window)

    return send
