"""Backend words made human: the one place that turns OpenStack's texts and raw statuses into
translated messages for the console (errors in flashes and error pages, status columns).

Anything not recognised passes through translated as it is, so a known SWS message keeps its
catalog translation and an unknown one is still shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sws.web.console.i18n import N_

Gettext = Callable[..., str]

QUOTA = re.compile(r"Quota exceeded for (?:resources: \[?)?'?(?P<what>[\w-]+)'?\]?[^.]*\.?")
TASK_STATE = re.compile(
    r"Cannot '(?P<action>\w+)' instance \S+ while it is in task_state (?P<task>[\w-]+)"
)
VM_STATE = re.compile(
    r"Cannot '(?P<action>\w+)' instance \S+ while it is in vm_state (?P<state>[\w-]+)"
)
RESOURCES = {
    "instances": N_("instances"), "cores": N_("vCPUs"), "ram": N_("RAM"),
    "security_group": N_("security groups"), "security_groups": N_("security groups"),
    "security_group_rule": N_("security group rules"), "floatingip": N_("floating IPs"),
    "floating_ips": N_("floating IPs"), "key_pairs": N_("key pairs"),
}
ACTIONS = {
    "start": N_("Start"), "stop": N_("Shut off"), "reboot": N_("Reboot"),
    "resize": N_("Resize"), "shelve": N_("Shelve"), "unshelve": N_("Unshelve"),
    "createImage": N_("Snapshot"), "snapshot": N_("Snapshot"), "delete": N_("Terminate"),
    "rebuild": N_("Rebuild"), "update": N_("Rename"), "confirm_resize": N_("Confirm resize"),
    "revert_resize": N_("Revert resize"),
}
TASKS = {
    "image_snapshot": N_("taking a snapshot"), "image_snapshot_pending": N_("taking a snapshot"),
    "image_uploading": N_("taking a snapshot"), "powering-off": N_("shutting off"),
    "powering-on": N_("starting"), "rebooting": N_("rebooting"), "spawning": N_("building"),
    "scheduling": N_("building"), "resize_prep": N_("resizing"), "resize_migrating": N_("resizing"),
    "resize_finish": N_("resizing"), "deleting": N_("being terminated"),
    "shelving": N_("shelving"), "unshelving": N_("unshelving"),
    "rebuilding": N_("being rebuilt"), "rebuild_block_device_mapping": N_("being rebuilt"),
    "rebuild_spawning": N_("being rebuilt"), "resize_reverting": N_("reverting a resize"),
}
VM_STATES = {
    "active": N_("running"), "stopped": N_("shut off"), "building": N_("building"),
    "error": N_("in error"), "shelved": N_("shelved"), "shelved_offloaded": N_("shelved"),
    "resized": N_("waiting for its resize to be confirmed"),
}
#: Raw statuses by kind of resource, as the console shows them.
STATUSES = {
    "floating_ip": {"ACTIVE": N_("In use"), "DOWN": N_("Not in use"), "ERROR": N_("Error")},
    "image": {"active": N_("Available"), "queued": N_("Queued"), "saving": N_("Saving"),
              "deleted": N_("Deleted"), "killed": N_("Failed")},
}


def status(gettext: Gettext, kind: str, raw: str) -> str:
    """A raw status as a translated word (the raw value when it is not known)."""
    found = STATUSES.get(kind, {}).get(raw)
    return gettext(found) if found else raw


def message(gettext: Gettext, detail: str) -> str:
    """A backend error's detail in the visitor's language and in words a tenant understands."""
    for pattern, render in ((QUOTA, _quota), (TASK_STATE, _task), (VM_STATE, _vm_state)):
        found = pattern.search(detail)
        if found:
            return detail[: found.start()] + render(gettext, found) + detail[found.end():]
    return gettext(detail)


def _word(gettext: Gettext, table: dict[str, str], raw: str) -> str:
    found = table.get(raw)
    return gettext(found) if found else raw.replace("_", " ").replace("-", " ")


def _quota(gettext: Gettext, found: re.Match[str]) -> str:
    what = _word(gettext, RESOURCES, found["what"])
    return gettext("Your quota of %(what)s is used up: delete some, or ask for a higher quota.",
                   what=what)


def _task(gettext: Gettext, found: re.Match[str]) -> str:
    return gettext("%(action)s cannot run while the instance is %(task)s; try again when it "
                   "has finished.", action=_word(gettext, ACTIONS, found["action"]),
                   task=_word(gettext, TASKS, found["task"]))


def _vm_state(gettext: Gettext, found: re.Match[str]) -> str:
    return gettext("%(action)s does not apply to an instance that is %(state)s.",
                   action=_word(gettext, ACTIONS, found["action"]),
                   state=_word(gettext, VM_STATES, found["state"]))
