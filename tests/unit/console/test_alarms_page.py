"""The Alarms page: every alarm of the tenant; create, see its history, edit, disable, delete."""

from __future__ import annotations

import re

from tests.unit.console.conftest import Console
from tests.unit.console.test_monitoring import launch, run_for

FORM = {"name": "db-hot", "meter": "cpu_util", "aggregate": "mean", "comparison": "gt",
        "threshold": "100", "granularity": "60", "evaluation_periods": "1"}


def test_create_an_alarm_from_the_alarms_page_and_follow_it(console: Console) -> None:
    server_id = launch(console, name="shop-db")
    browser = console.browser("alice")
    assert 'href="/console/alarms"' in browser.get("/console/").text  # the menu entry
    made = browser.post("/console/alarms", {**FORM, "server_id": server_id},
                        page="/console/alarms", follow=True)
    assert made.status_code == 200 and "Alarm db-hot created." in made.text
    alarm_url = str(made.url.path)
    assert re.fullmatch(r"/console/alarms/[\w-]+", alarm_url)
    assert "shop-db" in made.text and "Insufficient data" in made.text
    run_for(console, 3)
    detail = browser.get(alarm_url).text
    history = detail[detail.index('id="alarm-history"'):]
    assert "Insufficient data" in history and "OK" in history  # the change is in the history
    listed = browser.get("/console/alarms").text
    assert "1 of 1 in OK" in listed and 'data-alarm="db-hot"' in listed


def test_edit_disable_enable_and_delete(console: Console) -> None:
    server_id = launch(console)
    browser = console.browser("alice")
    alarm_url = str(browser.post("/console/alarms", {**FORM, "server_id": server_id},
                                 page="/console/alarms", follow=True).url.path)
    saved = browser.post(f"{alarm_url}/edit", {"description": "the shop's database",
                                               "repeat_actions": "on"}, page=alarm_url,
                         follow=True).text
    assert "Alarm db-hot saved." in saved and 'value="the shop&#39;s database"' in saved
    assert re.search(r'name="repeat_actions" checked', saved)
    off = browser.post(f"{alarm_url}/enabled", {"enabled": "false"}, page=alarm_url,
                       follow=True).text
    assert "Alarm db-hot disabled." in off and re.search(r'id="alarm-enabled">off<', off)
    on = browser.post(f"{alarm_url}/enabled", {"enabled": "true"}, page=alarm_url,
                      follow=True).text
    assert "Alarm db-hot enabled." in on and re.search(r'id="alarm-enabled">on<', on)
    gone = browser.post(f"{alarm_url}/delete", page=alarm_url, follow=True).text
    assert "Alarm db-hot deleted." in gone and "0 of 0 in OK" in gone
    assert browser.get(alarm_url).status_code == 404


def test_a_bad_form_comes_back_with_its_values_and_a_stranger_sees_nothing(
    console: Console,
) -> None:
    server_id = launch(console)
    browser = console.browser("alice")
    bad = browser.post("/console/alarms", {**FORM, "server_id": server_id, "threshold": "hot"},
                       page="/console/alarms")
    assert bad.status_code == 422 and "threshold must be a number" in bad.text
    assert 'value="db-hot"' in bad.text and "<details id=\"create-alarm-box\" open>" in bad.text
    alarm_url = str(browser.post("/console/alarms", {**FORM, "server_id": server_id},
                                 page="/console/alarms", follow=True).url.path)
    bob = console.browser("bob")
    assert bob.get(alarm_url).status_code == 404
    assert "db-hot" not in bob.get("/console/alarms").text
    refused = bob.post(f"{alarm_url}/delete", page="/console/alarms", follow=True)
    assert "could not be found" in refused.text
    assert browser.get(alarm_url).status_code == 200
    foreign = bob.post("/console/alarms", {**FORM, "server_id": server_id},
                       page="/console/alarms")
    assert foreign.status_code == 404
