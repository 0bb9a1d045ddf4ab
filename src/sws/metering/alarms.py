"""Alarm use cases: define, evaluate on the clock, keep history, queue and deliver notices."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, Invalid, NotFound
from sws.leases.service import Guard
from sws.metering import model, service
from sws.metering import repository as repo
from sws.metering.model import Alarm as Alarm
from sws.metering.model import CompositeRule, Rule, SeriesQuery, State, ThresholdRule
from sws.metering.notifiers import DeliveryFailed
from sws.metering.targets import WebhookTargets
from sws.paging import PageRequest, int_marker
from sws.text import check_text

STATES: tuple[State, ...] = ("ok", "alarm", "insufficient_data")
SECRET_MASK = "********"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: int
    at: datetime
    previous: str
    state: str
    reason: str


# ---- rules as JSON ------------------------------------------------------------------------


def rule_from_json(data: dict[str, Any]) -> Rule:
    """A rule from its JSON form: {"type": "threshold", ...} or {"type": "and"|"or", "rules"}."""
    kind = data.get("type")
    if kind in ("and", "or"):
        return CompositeRule(kind, tuple(rule_from_json(r) for r in data.get("rules", [])))
    if kind != "threshold":
        raise Invalid("a rule's type is threshold, and or or", field="rule.type")
    fields = {k: v for k, v in data.items() if k != "type"}
    try:
        return ThresholdRule(**fields)
    except TypeError as error:
        raise Invalid(f"bad threshold rule: {error}", field="rule") from error


def _thresholds(rule: Rule) -> list[ThresholdRule]:
    if isinstance(rule, ThresholdRule):
        return [rule]
    return [t for sub in rule.rules for t in _thresholds(sub)]


def _validate_actions(
    actions: dict[str, list[dict[str, Any]]], targets: WebhookTargets
) -> None:
    for state, listed in actions.items():
        if state not in STATES:
            raise Invalid(f"actions are keyed by state: {', '.join(STATES)}", field="actions")
        for action in listed:
            if action.get("type") not in ("webhook", "email"):
                raise Invalid("an action's type is webhook or email", field="actions")
            if action["type"] == "webhook":
                targets.check_url(str(action.get("url", "")), field="url")


# ---- definitions --------------------------------------------------------------------------


def create_alarm(
    *,
    db: Database,
    clock: Clock,
    project_id: str,
    name: str,
    rule: dict[str, Any],
    actions: dict[str, list[dict[str, Any]]],
    description: str = "",
    repeat_actions: bool = False,
    enabled: bool = True,
    targets: WebhookTargets | None = None,
) -> Alarm:
    """A new alarm; webhook targets are checked against `targets` (no private addresses by
    default), and again at each delivery."""
    check_text(name, field="name", required=True)
    check_text(description, field="description")
    parsed = rule_from_json(rule)
    _validate_actions(actions, targets or WebhookTargets())
    now, alarm_id = clock.now(), str(uuid.uuid4())
    with db.begin() as conn:
        _check_resources(conn, project_id, parsed)
        if any(r.name == name for r in repo.alarm_rows(conn, project_id)):
            raise Conflict(f"An alarm named {name!r} already exists.", field="name")
        repo.insert_alarm(conn, Alarm(
            alarm_id, project_id, name, description, rule, actions, repeat_actions, enabled,
            "insufficient_data", "not evaluated yet", now, None, now,
        ))
        return _alarm(repo.alarm_row(conn, project_id, alarm_id))


def _check_resources(conn: Connection, project_id: str, rule: Rule) -> None:
    for threshold in _thresholds(rule):
        owner = repo.project_of(conn, threshold.resource_id)
        if owner not in (None, project_id):
            raise NotFound(
                f"Resource {threshold.resource_id} could not be found.", field="resource_id"
            )


def _alarm(row: Any) -> Alarm:
    actions = {
        state: [{**a, "secret": SECRET_MASK} if "secret" in a else a for a in listed]
        for state, listed in json.loads(row.actions).items()
    }
    return Alarm(
        row.id, row.project_id, row.name, row.description, json.loads(row.rule), actions,
        row.repeat_actions, row.enabled, row.state, row.state_reason, row.state_changed_at,
        row.evaluated_at, row.created_at,
    )


def list_alarms(
    *, db: Database, project_id: str, page: PageRequest | None = None
) -> list[Alarm]:
    """The project's alarms, oldest first; one page of them when `page` is given."""
    with db.read() as conn:
        if page is None:
            return [_alarm(row) for row in repo.alarm_rows(conn, project_id)]
        return [_alarm(row) for row in repo.alarm_page(conn, project_id, page)]


def get_alarm(*, db: Database, project_id: str, alarm_id: str) -> Alarm:
    with db.read() as conn:
        return _alarm(_row(conn, project_id, alarm_id))


def _row(conn: Connection, project_id: str, alarm_id: str) -> Any:
    row = repo.alarm_row(conn, project_id, alarm_id)
    if row is None:
        raise NotFound(f"Alarm {alarm_id} could not be found.")
    return row


def update_alarm(
    *, db: Database, project_id: str, alarm_id: str, changes: dict[str, Any]
) -> Alarm:
    """Change `enabled`, `repeat_actions` or `description`."""
    allowed = {"enabled", "repeat_actions", "description"}
    if set(changes) - allowed:
        raise Invalid(f"only {', '.join(sorted(allowed))} can change", field="body")
    check_text(changes.get("description", ""), field="description")
    with db.begin() as conn:
        _row(conn, project_id, alarm_id)
        if changes:
            repo.change_alarm(conn, alarm_id, changes)
        return _alarm(_row(conn, project_id, alarm_id))


def delete_alarm(*, db: Database, project_id: str, alarm_id: str) -> None:
    with db.begin() as conn:
        _row(conn, project_id, alarm_id)
        repo.delete_alarm(conn, alarm_id)


def history(
    *, db: Database, project_id: str, alarm_id: str, limit: int = 100,
    page: PageRequest | None = None,
) -> list[HistoryEntry]:
    """The alarm's state changes, newest first; `page.marker` is an entry id."""
    page = page or PageRequest(limit=limit)
    with db.read() as conn:
        _row(conn, project_id, alarm_id)
        rows = repo.history_rows(conn, alarm_id, page.limit, before=int_marker(page))
    return [HistoryEntry(r.id, r.at, r.previous, r.state, r.reason) for r in rows]


# ---- evaluation ---------------------------------------------------------------------------


def evaluate_alarms(*, db: Database, clock: Clock, guard: Guard | None = None) -> int:
    """Evaluate every enabled alarm at the clock's now; returns how many changed state.

    With a `guard` (the alarm evaluator's leader lease) each alarm's transaction first checks
    that this process still leads: a stale leader stops with `LeaseLost`, having written nothing.
    """
    now = clock.now()
    with db.read() as conn:
        rows = repo.alarm_rows(conn, None, enabled_only=True)
    return sum(_evaluate(db, row, now, guard) for row in rows)


def _evaluate(db: Database, row: Any, now: datetime, guard: Guard | None) -> bool:
    with db.begin() as conn:
        if guard is not None:
            guard.check(conn)
        state, reason = _state(conn, row.project_id, rule_from_json(json.loads(row.rule)), now)
        decision = model.decide(row.state, state, repeat_actions=row.repeat_actions)
        repo.record_evaluation(conn, row, state, reason, now, changed=decision.changed)
        if decision.notify:
            _enqueue(conn, row, state, reason, now)
    return decision.changed


def _state(conn: Connection, project_id: str, rule: Rule, now: datetime) -> tuple[State, str]:
    if isinstance(rule, CompositeRule):
        parts = [_state(conn, project_id, sub, now) for sub in rule.rules]
        combined = model.combine(rule.operator, [state for state, _ in parts])
        return combined, f" {rule.operator} ".join(f"({reason})" for _, reason in parts)
    return model.threshold_state(rule, _window_values(conn, project_id, rule, now))


def _window_values(
    conn: Connection, project_id: str, rule: ThresholdRule, now: datetime
) -> list[float | None]:
    start, end = rule.window(now)
    request = SeriesQuery.build(start, end, rule.granularity, rule.aggregate)
    metrics = [
        m for m in repo.resource_metrics(conn, rule.resource_id)
        if m.project_id == project_id and m.meter == rule.meter and m.device == rule.device
    ]
    buckets = service.series(conn, [m.id for m in metrics], request)[0] if metrics else {}
    found = buckets.get(metrics[0].id, {}) if metrics else {}
    step = timedelta(seconds=rule.granularity)
    windows = [start + step * n for n in range(rule.evaluation_periods)]
    return [found[w].value(rule.aggregate) if w in found else None for w in windows]


# ---- delivery -----------------------------------------------------------------------------


def _enqueue(conn: Connection, row: Any, state: str, reason: str, now: datetime) -> None:
    for action in json.loads(row.actions).get(state, []):
        delivery_id = str(uuid.uuid4())
        notice = {
            "delivery_id": delivery_id, "alarm_id": row.id, "alarm_name": row.name,
            "project_id": row.project_id, "previous": row.state, "current": state,
            "reason": reason, "at": now.isoformat(),
        }
        repo.insert_delivery(conn, delivery_id, row.id, action, notice, now)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    attempts: int = 5
    backoff: timedelta = timedelta(seconds=2)  # doubled after each failure
    # How long a claimed notice is left to its sender: four times the most one webhook may
    # take (Notifiers' deadline, 15 s, after DNS). A sender that dies leaves the notice to
    # another process once the claim runs out.
    claim: timedelta = timedelta(seconds=60)


#: What one delivery attempt can come to, as `deliver_due` counts them.
OUTCOMES = ("delivered", "retrying", "dead", "overtaken")


class Sender(Protocol):
    """What delivery needs of `Notifiers`: send one notice or raise `DeliveryFailed`."""

    def send(self, action: dict[str, Any], body: bytes, delivery_id: str) -> None: ...


def deliver_due(
    *, db: Database, clock: Clock, notifiers: Sender, policy: DeliveryPolicy = DeliveryPolicy()
) -> dict[str, int]:
    """Claim and try each due notice once; back off on failure, dead-letter after the last try.

    Counts each outcome; "overtaken" is a notice sent, or failed, after its claim ran out:
    another process holds it now and may send it again under the same delivery id."""
    counts = dict.fromkeys(OUTCOMES, 0)
    with db.read() as conn:
        due = repo.due_deliveries(conn, clock.now())
    for delivery_id in due:
        row = _claim(db, clock, policy, delivery_id)
        if row is not None:
            counts[_attempt(db, clock, notifiers, policy, row)] += 1
    return counts


def _claim(db: Database, clock: Clock, policy: DeliveryPolicy, delivery_id: str) -> Any:
    now = clock.now()
    with db.begin() as conn:
        return repo.claim_delivery(conn, delivery_id, now, now + policy.claim)


def _attempt(
    db: Database, clock: Clock, notifiers: Sender, policy: DeliveryPolicy, row: Any
) -> str:
    try:
        notifiers.send(json.loads(row.target), row.payload.encode(), row.id)
    except DeliveryFailed as error:
        return _failed(db, clock, policy, row, str(error))
    with db.begin() as conn:
        marked = repo.mark_delivery(conn, row.id, "delivered", row.attempts + 1,
                                    claimed_until=row.next_attempt_at)
    return "delivered" if marked else "overtaken"


def _failed(db: Database, clock: Clock, policy: DeliveryPolicy, row: Any, error: str) -> str:
    attempts, now = row.attempts + 1, clock.now()
    status = "dead" if attempts >= policy.attempts else "pending"
    with db.begin() as conn:
        retry_at = now + policy.backoff * 2 ** (attempts - 1)
        marked = repo.mark_delivery(conn, row.id, status, attempts, error=error,
                                    retry_at=retry_at, claimed_until=row.next_attempt_at)
        if not marked:
            return "overtaken"
        if status == "dead":
            reason = f"gave up after {attempts} attempts: {error}"
            repo.dead_letter(conn, f"alarm-{row.kind}", _dead_raw(row), reason, now)
    return "dead" if status == "dead" else "retrying"


def _dead_raw(row: Any) -> str:
    target = {k: v for k, v in json.loads(row.target).items() if k != "secret"}
    return json.dumps({"delivery_id": row.id, "target": target, "payload": json.loads(row.payload)})
