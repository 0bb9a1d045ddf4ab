"""What each role may do in its tenant: the one policy the API and the console both apply.

Every authenticated request is an *action*: an area of the product and a verb (`read` for
GET/HEAD, else `write`). A role is the set of actions it may take:

| role | may |
|---|---|
| `owner` | everything in its tenant, including its team (invitations, roles, removals) |
| `member` | everything but the team's management: launch, change, pay, ask for quota |
| `billing` | read everything; pay, recharge and settle bills; never touch resources |
| `viewer` | read everything; change nothing |

Every role may also look after its own account and sessions (`session`: log out, password,
second factor, credentials, settings). The cloud's admin may do everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sws.errors import Forbidden

Area = Literal["resources", "billing", "team", "quotas", "session", "admin"]
Verb = Literal["read", "write"]
AREAS: tuple[Area, ...] = ("resources", "billing", "team", "quotas", "session", "admin")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Path prefixes by area, longest first wins; anything else in a tenant is a resource.
_PREFIXES: tuple[tuple[str, Area], ...] = (
    ("/v1/admin", "admin"),
    ("/v1/auth", "session"),
    ("/v1/account", "session"),
    ("/v1/users", "team"),
    ("/v1/invitations", "team"),
    ("/v1/billing", "billing"),
    ("/v1/invoices", "billing"),
    ("/v1/payments", "billing"),
    ("/v1/quota-requests", "quotas"),
    ("/admin", "admin"),
    ("/console/logout", "session"),
    ("/console/language", "session"),
    ("/console/region", "session"),
    ("/console/tenant", "session"),
    ("/console/account", "session"),
    ("/console/settings", "session"),
    ("/console/users", "team"),
    ("/console/invitations", "team"),
    ("/console/billing", "billing"),
    ("/console/payments", "billing"),
    ("/console/quota-requests", "quotas"),
)


@dataclass(frozen=True, slots=True)
class Action:
    area: Area
    verb: Verb

    def __str__(self) -> str:
        return f"{self.area}.{self.verb}"


def _all(verb: Verb) -> frozenset[Action]:
    return frozenset(Action(area, verb) for area in AREAS if area != "admin")


def _writes(*areas: Area) -> frozenset[Action]:
    return frozenset(Action(area, "write") for area in areas)


_READS = _all("read")
POLICY: dict[str, frozenset[Action]] = {
    "admin": _READS | _all("write") | {Action("admin", "read"), Action("admin", "write")},
    "owner": _READS | _all("write"),
    "member": (_READS | _writes("resources", "billing", "quotas", "session")),
    "billing": _READS | _writes("billing", "session"),
    "viewer": _READS | _writes("session"),
}
TENANT_ROLES = ("owner", "member", "billing", "viewer")


def action_of(method: str, path: str) -> Action:
    """The action a request takes, from its method and its route's path."""
    verb: Verb = "read" if method.upper() in READ_METHODS else "write"
    for prefix, area in _PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return Action(area, verb)
    return Action("resources", verb)


def allows(role: str, action: Action) -> bool:
    return action in POLICY.get(role, frozenset())


def authorize(role: str, action: Action) -> None:
    """Refuse with 403 an action the role does not include."""
    if not allows(role, action):
        raise Forbidden(f"the role {role!r} may not {_words(action)}", field="role")


def _words(action: Action) -> str:
    doing = "change" if action.verb == "write" else "read"
    what = {
        "resources": "the tenant's resources", "billing": "the tenant's billing",
        "team": "the tenant's team", "quotas": "the tenant's quota",
        "session": "sessions", "admin": "the cloud's administration",
    }[action.area]
    return f"{doing} {what}"
