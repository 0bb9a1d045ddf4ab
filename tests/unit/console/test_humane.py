"""Backend words made human in one place: Nova's quota and task-state errors, raw statuses."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sws.web.console import humane, i18n
from tests.budget import examples
from tests.unit.console.conftest import Console
from tests.unit.console.test_monitoring import launch


def english(message: str, **values: Any) -> str:
    return message % values if values else message


def chinese(message: str, **values: Any) -> str:
    text = i18n.translations("zh_CN").gettext(message)
    return text % values if values else text


def test_neutrons_quota_error_names_the_resource_in_words() -> None:
    shown = humane.message(english, "Quota exceeded for resources: ['security_group'].")
    assert shown == ("Your quota of security groups is used up: delete some, or ask for a "
                     "higher quota.")


def test_novas_quota_error_keeps_the_instances_name_before_it() -> None:
    shown = humane.message(english, "web-1: Quota exceeded for cores: Requested 2, but already "
                                    "used 20 of 20 cores")
    assert shown.startswith("web-1: Your quota of vCPUs is used up")


def test_a_task_state_conflict_says_what_the_instance_is_doing() -> None:
    shown = humane.message(english, "Cannot 'start' instance 5a7a0c1e-aaaa while it is in "
                                    "task_state image_snapshot")
    assert shown == ("Start cannot run while the instance is taking a snapshot; try again when "
                     "it has finished.")
    assert "5a7a" not in shown and "task_state" not in shown


def test_a_vm_state_conflict_and_an_unknown_state_read_as_words() -> None:
    shown = humane.message(english, "Cannot 'stop' instance x while it is in vm_state stopped")
    assert shown == "Shut off does not apply to an instance that is shut off."
    odd = humane.message(english, "Cannot 'reboot' instance x while it is in task_state new_thing")
    assert "new thing" in odd


def test_the_messages_are_translated() -> None:
    shown = humane.message(chinese, "Quota exceeded for resources: ['security_group'].")
    assert "安全组" in shown and "Quota" not in shown
    busy = humane.message(chinese, "Cannot 'start' instance x while it is in task_state "
                                   "image_snapshot")
    assert "task_state" not in busy and "image_snapshot" not in busy


@given(st.text(max_size=80).filter(lambda t: "Quota exceeded" not in t and "Cannot '" not in t))
@settings(max_examples=examples(100), deadline=None)
def test_any_other_text_passes_through(detail: str) -> None:
    assert humane.message(english, detail) == detail


def test_raw_statuses_become_words() -> None:
    assert humane.status(english, "floating_ip", "DOWN") == "Not in use"
    assert humane.status(chinese, "image", "active") != "active"
    assert humane.status(english, "image", "weird") == "weird"


def test_the_floating_ip_and_snapshot_pages_show_words_not_raw_statuses(console: Console) -> None:
    server_id = launch(console)
    browser = console.browser("alice")
    browser.post("/console/floating-ips", page="/console/floating-ips")
    ips = browser.get("/console/floating-ips").text
    assert "Not in use" in ips and "<td>DOWN</td>" not in ips
    console.container.driver().create_snapshot(console.tenants["acme"], server_id, "snap-1")
    console.settle()
    snaps = browser.get("/console/snapshots").text
    assert "snap-1" in snaps and "<td>active</td>" not in snaps and "Available" in snaps


def test_a_busy_instance_answers_in_words_on_the_page(console: Console) -> None:
    server_id = launch(console)
    browser = console.browser("alice")
    console.container.driver().create_snapshot(console.tenants["acme"], server_id, "snap-2")
    done = browser.post("/console/instances/action", {"action": "reboot", "ids": server_id},
                        page="/console/instances", follow=True).text
    assert "task_state" not in done
    assert "Reboot cannot run while the instance is taking a snapshot" in done
