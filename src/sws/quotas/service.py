"""Quota requests (扩容申请): a tenant asks for a preset size or per-resource limits with a
reason; the operator's rules approve it at once (one size step up, one approval per interval,
an account in good standing), or it waits for an admin's approve or deny with a note.

An approved quota takes effect at once through the region's driver (the simulated region's
quota table, or Nova's and Neutron's quota APIs), then the decision is audited and the tenant
is mailed in one transaction. A driver that refuses leaves the request pending."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime

from sqlalchemy import Connection

from sws.audit import repository as audit_repo
from sws.audit.model import AuditRecord, check_record
from sws.billing import service as billing
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver, Quota
from sws.errors import Conflict, Invalid, NotFound, SWSError
from sws.identity import repository as identity_repo
from sws.identity.model import Principal
from sws.mail.model import Mail
from sws.mail.outbox import enqueue
from sws.mail.templates import language_of, render
from sws.quotas import repository as repo
from sws.quotas.model import (
    MAX_NOTE,
    MAX_REASON,
    QuotaRequest,
    Rules,
    Sizes,
    Standing,
    State,
    auto_decision,
    check_larger,
    check_text,
    quota_of,
)

RULES = "rules"  # who decided, when the auto-approval rules did


@dataclass(frozen=True, slots=True)
class QuotaConfig:
    sizes: Sizes
    rules: Rules = field(default_factory=Rules)
    public_url: str = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class QuotaAsk:
    """What a tenant asks for: a preset `size`, or `limits` by resource name, and why."""

    reason: str
    size: str | None = None
    limits: dict[str, int] | None = None
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Decision:
    approve: bool
    note: str = ""


class QuotaRequests:
    """The use cases, with the cloud's database, clock, settings and regions' drivers."""

    def __init__(
        self, *, db: Database, clock: Clock, config: QuotaConfig,
        drivers: Callable[[str], CloudDriver],
    ) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.drivers = drivers

    def ask(self, *, caller: Principal, region: str, ask: QuotaAsk) -> QuotaRequest:
        """File a request; the rules approve it at once when they can."""
        reason = check_text(ask.reason, field="reason", limit=MAX_REASON, required=True)
        current = self.drivers(region).quota_usage(caller.tenant_id).limits
        wanted = self._wanted(current, ask)
        check_larger(current, wanted)
        request = QuotaRequest(
            id=uuid.uuid4().hex, tenant_id=caller.tenant_id, region=region,
            requested_by=caller.user_name, size=ask.size, current=current, wanted=wanted,
            reason=reason, state="pending", created_at=self.clock.now(),
            language=language_of(ask.language),
        )
        with self.db.begin() as conn:
            if repo.pending_for(conn, caller.tenant_id, region) is not None:
                raise Conflict("a request for this region is waiting already", field="region")
            repo.insert(conn, request)
            _audit(conn, self.clock.now(), caller.user_id, caller.user_name, "quota.request",
                   request, _limits_text(wanted))
            last = repo.last_approved_at(conn, caller.tenant_id)
        why_not = auto_decision(self.config.rules, self.config.sizes, request,
                                self._standing(caller.tenant_id), last)
        if why_not is not None:
            return request
        try:
            return self._apply(request, RULES, RULES, Decision(approve=True, note="auto"))
        except SWSError:
            return request  # the region refused for now: the admin's queue has it

    def decide(self, *, admin: Principal, request_id: str, decision: Decision) -> QuotaRequest:
        """An admin approves (the quota takes effect at once) or denies, with a note."""
        note = check_text(decision.note, field="note", limit=MAX_NOTE, required=False)
        with self.db.read() as conn:
            found = repo.get(conn, request_id)
        if found is None:
            raise NotFound(f"quota request {request_id} not found")
        found.decided(_state(decision), admin.user_name, note, self.clock.now())  # else 409
        return self._apply(found, admin.user_id, admin.user_name,
                           replace(decision, note=note))

    def _apply(
        self, request: QuotaRequest, actor_id: str, actor: str, decision: Decision
    ) -> QuotaRequest:
        if decision.approve:
            self.drivers(request.region).set_quota(request.tenant_id, request.wanted)
        now = self.clock.now()
        state = _state(decision)
        with self.db.begin() as conn:
            locked = repo.get(conn, request.id, lock=True)
            assert locked is not None
            decided = locked.decided(state, actor, decision.note, now)
            repo.record_decision(conn, decided)
            _audit(conn, now, actor_id, actor, f"quota.{'approve' if decision.approve else 'deny'}",
                   decided, decision.note)
            self._tell(conn, decided, now)
        return decided

    def get(self, *, caller: Principal, request_id: str) -> QuotaRequest:
        with self.db.read() as conn:
            found = repo.get(conn, request_id)
        if found is None or found.tenant_id != caller.tenant_id:
            raise NotFound(f"quota request {request_id} not found")
        return found

    def list(
        self, *, tenant_id: str | None, state: State | None, limit: int, marker: str | None
    ) -> list[QuotaRequest]:
        with self.db.read() as conn:
            return repo.list_requests(conn, tenant_id=tenant_id, state=state, limit=limit,
                                      marker=marker)

    def _wanted(self, current: Quota, ask: QuotaAsk) -> Quota:
        if (ask.size is None) == (ask.limits is None):
            raise Invalid("ask for a size or for limits, one of the two", field="size")
        if ask.limits is not None:
            return quota_of(ask.limits, current)
        preset = self.config.sizes.quota(ask.size or "")
        # A size never lowers a limit the tenant has above it already.
        return Quota(**{f.name: max(getattr(current, f.name), getattr(preset, f.name))
                        for f in fields(Quota)})

    def _standing(self, tenant_id: str) -> Standing:
        with self.db.read() as conn:
            tenant = identity_repo.get_tenant(conn, tenant_id)
        account = billing.get_account(db=self.db, clock=self.clock, tenant_id=tenant_id)
        return Standing(tenant_enabled=bool(tenant and tenant.enabled),
                        account_status=account.status,
                        balance_negative=account.balance.amount < 0)

    def _tell(self, conn: Connection, request: QuotaRequest, now: datetime) -> None:
        """Mail the requester the decision, if SWS knows its address."""
        user = identity_repo.find_user_by_name(conn, request.requested_by)
        address = identity_repo.user_email(conn, user.id) if user else None
        if not address:
            return
        template = "quota_approved" if request.state == "approved" else "quota_denied"
        subject, text, html = render(template, request.language, {
            "region": request.region, "limits": _limits_text(request.wanted),
            "note": request.note or "-",
            "link": self.config.public_url.rstrip("/") + "/console/quota-requests",
        })
        mail = Mail(to=address, subject=subject, text=text, html=html)
        enqueue(conn, key=f"{template}:{request.id}", mail=mail, now=now)


def _state(decision: Decision) -> State:
    return "approved" if decision.approve else "denied"


def _limits_text(quota: Quota) -> str:
    return ", ".join(f"{f.name}={getattr(quota, f.name)}" for f in fields(Quota))


def _audit(
    conn: Connection, now: datetime, actor_id: str, actor: str, action: str,
    request: QuotaRequest, detail: str,
) -> None:
    record = AuditRecord(
        actor_user_id=actor_id, actor_name=actor, action=action, target_type="quota_request",
        target_id=request.id, detail=f"tenant={request.tenant_id} {detail}".strip(),
        source="api",
    )
    audit_repo.insert_entry(conn, check_record(record), now)
