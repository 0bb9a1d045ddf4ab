"""`CDNAgent`: takes one edge's Varnish (and its TLS terminator) to a desired state and carries
out its purges."""

from __future__ import annotations

import logging
import threading

from sws.cdn.model import EdgePurge, EdgeState
from sws_agent.cdn._terminator import Terminator
from sws_agent.cdn._varnish import EdgeError, Varnish, vcl_name
from sws_agent.lb._haproxy import AgentError

log = logging.getLogger("sws_agent.cdn")


class CDNAgent:
    """One edge: the VCL it runs and the purges it has carried out since its last report."""

    def __init__(self, varnish: Varnish, terminator: Terminator | None = None) -> None:
        self.varnish = varnish
        self.terminator = terminator  # HAProxy for HTTPS and signed URLs, when the edge has one
        self.lock = threading.Lock()
        self.finished: dict[str, str] = {}  # purge id -> done | failed, not yet reported
        # (varnishd's pid, its active VCL) as last asked or switched to: only this agent
        # switches VCLs, so a purge or a report need not ask `varnishadm vcl.list` each time
        self._known: tuple[int | None, str | None] | None = None
        self.last_good: tuple[str, str] | None = None  # (name, VCL text) that ran last

    def start(self) -> None:
        """Start varnishd unless it already runs (the agent restarted: it keeps serving)."""
        if not self.varnish.running():
            self.varnish.start()
            self._known = None

    @property
    def applied(self) -> str | None:
        """The active VCL's name (`sws_<digest prefix>`); `EdgeError` when varnishd is dead,
        so the report (the edge's heartbeat) fails and steering leaves the edge out."""
        if not self.varnish.alive():
            raise EdgeError("varnishd is not running")
        return self._active()

    def _active(self) -> str | None:
        pid = self.varnish.pid()
        known = self._known
        if known is None or known[0] != pid:  # first look, or a varnishd started by another
            known = self._known = (pid, self.varnish.active())
        return known[1]

    def revive(self) -> bool:
        """Start varnishd again, with the last good VCL, if it died. True when it was
        restarted; `EdgeError` when it could not be."""
        with self.lock:
            if self.varnish.alive():
                return False
            self._known = None
            self.varnish.start()
            if self.last_good is not None:
                self._switch(*self.last_good)
            return True

    def apply(self, state: EdgeState) -> bool:
        """Switch to the state's VCL unless it runs already; then its purges. True when the
        VCL changed."""
        with self.lock:
            name = vcl_name(state.digest)
            changed = self._active() != name
            if changed:
                self._switch(name, state.vcl)
            self.last_good = (name, state.vcl)
            if self.terminator is not None and state.terminator:
                # after the VCL: the routes the terminator forwards to exist by then
                self._apply_terminator(self.terminator, state)
            for purge in state.purges:
                if purge.id not in self.finished:
                    self.finished[purge.id] = self._purge(purge)
            return changed

    def _switch(self, name: str, vcl: str) -> None:
        self._known = None  # unknown until Varnish has taken it
        self.varnish.switch_to(name, vcl)
        self._known = (self.varnish.pid(), name)

    def _apply_terminator(self, terminator: Terminator, state: EdgeState) -> None:
        """A configuration HAProxy refuses leaves the running one serving; purges go on, and
        the next poll tries again."""
        try:
            terminator.apply(state)
        except (AgentError, OSError) as exc:
            log.warning("the terminator keeps its running configuration: %s", exc)

    def _purge(self, purge: EdgePurge) -> str:
        try:
            carry_out(self.varnish, purge)
        except (EdgeError, OSError) as exc:
            log.warning("purge %s (%s %s) failed: %s", purge.id, purge.kind, purge.value, exc)
            return "failed"
        return "done"

    def take_finished(self) -> dict[str, str]:
        with self.lock:
            taken, self.finished = self.finished, {}
            return taken

    def give_back(self, finished: dict[str, str]) -> None:
        """Results a report could not deliver, for the next one."""
        with self.lock:
            self.finished.update(finished)


def carry_out(varnish: Varnish, purge: EdgePurge) -> None:
    """One purge: by URL (a lookup of that URL), by key or everything (xkey), or by prefix
    (a ban, which Varnish applies to each object lazily: always hard)."""
    mode: dict[str, str] = {"x-sws-purge-mode": purge.mode}
    if purge.kind == "url":
        varnish.purge(host=purge.host, url=purge.value, headers=mode)
    elif purge.kind == "key":
        key = f"k:{purge.distribution_id}:{purge.value}"
        varnish.purge(host=purge.host, headers={**mode, "x-sws-purge-key": key})
    elif purge.kind == "all":
        key = f"d:{purge.distribution_id}"
        varnish.purge(host=purge.host, headers={**mode, "x-sws-purge-key": key})
    else:
        varnish.admin(
            "ban",
            "obj.http.x-sws-dist",
            "==",
            purge.distribution_id,
            "&&",
            "obj.http.x-sws-url",
            "~",
            "^" + _regex_literal(purge.value),
        )


def _regex_literal(path: str) -> str:
    """`path` as a PCRE literal: every character outside [A-Za-z0-9/_-] escaped (a path holds
    no spaces, quotes or control characters: `sws.cdn.model.check_path`)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "/_-") else "\\" + c for c in path)
