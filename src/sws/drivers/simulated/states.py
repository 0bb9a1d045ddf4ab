"""Nova's instance state machine, pure: which action is legal when, and the API status shown."""

from __future__ import annotations

from sws.errors import Conflict

BUILDING = "building"
ACTIVE = "active"
STOPPED = "stopped"
RESIZED = "resized"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"
DELETED = "deleted"
ERROR = "error"

RUNNING = "running"
SHUTDOWN = "shutdown"
PENDING = "pending"

# The vm_states each action may start from (as in nova/compute/api.py's check_instance_state).
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "stop": frozenset({ACTIVE}),
    "start": frozenset({STOPPED}),
    "reboot": frozenset({ACTIVE}),
    "resize": frozenset({ACTIVE, STOPPED}),
    "confirm_resize": frozenset({RESIZED}),
    "revert_resize": frozenset({RESIZED}),
    "shelve": frozenset({ACTIVE, STOPPED}),
    "unshelve": frozenset({SHELVED, SHELVED_OFFLOADED}),
    "createImage": frozenset({ACTIVE, STOPPED}),
    "rebuild": frozenset({ACTIVE, STOPPED, ERROR}),
}

# The task_state an action puts the instance in while the compute host works on it.
TASK_OF_ACTION: dict[str, str] = {
    "stop": "powering-off",
    "start": "powering-on",
    "reboot": "rebooting",
    "resize": "resize_migrating",
    "revert_resize": "resize_reverting",
    "shelve": "shelving",
    "unshelve": "unshelving",
    "createImage": "image_snapshot",
    "rebuild": "rebuilding",
}

_RESIZE_TASKS = frozenset({"resize_prep", "resize_migrating", "resize_migrated", "resize_finish"})
_REBUILD_TASKS = frozenset({"rebuilding", "rebuild_block_device_mapping", "rebuild_spawning"})

_DEFAULT_STATUS: dict[str, str] = {
    BUILDING: "BUILD",
    ACTIVE: "ACTIVE",
    STOPPED: "SHUTOFF",
    RESIZED: "VERIFY_RESIZE",
    SHELVED: "SHELVED",
    SHELVED_OFFLOADED: "SHELVED_OFFLOADED",
    DELETED: "DELETED",
    ERROR: "ERROR",
}


def api_status(vm_state: str, task_state: str | None) -> str:
    """The `status` Nova's API shows for a (vm_state, task_state) pair."""
    if task_state in _RESIZE_TASKS and vm_state in (ACTIVE, STOPPED):
        return "RESIZE"
    if task_state == "rebooting" and vm_state == ACTIVE:
        return "REBOOT"
    if task_state in _REBUILD_TASKS and vm_state in (ACTIVE, STOPPED, ERROR):
        return "REBUILD"
    if task_state == "resize_reverting" and vm_state == RESIZED:
        return "REVERT_RESIZE"
    return _DEFAULT_STATUS.get(vm_state, "UNKNOWN")


def statuses_vm_states(status: str) -> frozenset[str]:
    """The vm_states that can show `status`, to narrow a status filter in SQL."""
    if status == "RESIZE":
        return frozenset({ACTIVE, STOPPED})
    if status == "REBOOT":
        return frozenset({ACTIVE})
    if status == "REBUILD":
        return frozenset({ACTIVE, STOPPED, ERROR})
    if status == "REVERT_RESIZE":
        return frozenset({RESIZED})
    return frozenset(state for state, shown in _DEFAULT_STATUS.items() if shown == status)


def ensure_allowed(action: str, server_id: str, vm_state: str, task_state: str | None) -> None:
    """Raise Conflict worded like Nova's 409 when `action` is illegal in this state."""
    if task_state is not None:
        raise Conflict(
            f"Cannot '{action}' instance {server_id} while it is in task_state {task_state}"
        )
    if vm_state not in ALLOWED_FROM[action]:
        raise Conflict(f"Cannot '{action}' instance {server_id} while it is in vm_state {vm_state}")
