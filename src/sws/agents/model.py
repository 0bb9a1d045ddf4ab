"""When a node agent counts as stale or behind: one pure rule for every kind of agent.

An agent is **stale** when it has not reported within its window (N report intervals): it
may be dead, or cut off from the API, and whatever its node enforces is no longer watched.
It is **behind** when what it last applied (a ruleset digest, a configuration version) is not
what SWS expects the node to run *now*: a change made while the agent was down, or one it
could not apply. The two are independent; a dead agent is usually both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

AgentState = Literal["current", "behind", "stale"]


@dataclass(frozen=True, slots=True)
class Freshness:
    """How long an agent may stay silent: `intervals` report intervals of `interval`."""

    interval: timedelta
    intervals: int = 3

    @property
    def window(self) -> timedelta:
        return self.interval * self.intervals


@dataclass(frozen=True, slots=True)
class AgentStatus:
    stale: bool
    behind: bool

    @property
    def state(self) -> AgentState:
        """The worst of the two, for a single badge: stale, else behind, else current."""
        if self.stale:
            return "stale"
        return "behind" if self.behind else "current"

    @property
    def healthy(self) -> bool:
        return not (self.stale or self.behind)


def agent_status(
    *, reported_at: datetime | None, applied: object, expected: object, now: datetime,
    freshness: Freshness,
) -> AgentStatus:
    """Judge an agent from its last report (`None`: never reported) against what SWS expects.

    `applied` and `expected` are whatever the agent kind compares (a digest, a version);
    an agent that applied nothing (`None`) or is expected to run nothing known is behind.
    """
    stale = reported_at is None or now - reported_at > freshness.window
    behind = applied is None or expected is None or applied != expected
    return AgentStatus(stale=stale, behind=behind)
