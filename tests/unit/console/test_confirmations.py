"""Destructive buttons ask first: every form that deletes, removes, releases or disables
carries `data-confirm` (console.js asks; without JavaScript the button still works)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.console.conftest import Console

TEMPLATES = Path(__file__).parents[3] / "src/sws/web/console/templates"
FORM = re.compile(r"<form\b[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S)
DESTRUCTIVE = re.compile(r"/(delete|release)$")
DISABLES = re.compile(r"/enabled$")


def _forms() -> list[tuple[str, str, str]]:
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        for action, body in FORM.findall(template.read_text()):
            found.append((template.name, action, body))
    return found


def test_every_delete_and_release_form_asks_first() -> None:
    destructive = [(name, action) for name, action, body in _forms()
                   if DESTRUCTIVE.search(action) and "data-confirm" not in body]
    assert destructive == []
    assert sum(1 for _, action, _ in _forms() if DESTRUCTIVE.search(action)) >= 15


def test_disabling_a_user_or_tenant_asks_first_but_enabling_does_not() -> None:
    toggles = [(n, body) for n, action, body in _forms() if DISABLES.search(action)
               and n in ("users.html", "members.html", "tenants.html")]
    assert len(toggles) == 3
    for name, body in toggles:
        assert re.search(r"\{% if (user|tenant)\.enabled %\} data-confirm=", body), name


def test_a_security_group_rule_delete_asks_in_the_page_the_tenant_sees(console: Console) -> None:
    browser = console.browser("alice")
    groups = browser.get("/console/security-groups").text
    rule_forms = re.findall(r'action="/console/security-group-rules/[^"]+/delete">(.*?)</form>',
                            groups, re.S)
    assert rule_forms and all('data-confirm="Delete this rule?"' in f for f in rule_forms)


def test_the_confirmation_is_a_comfort_the_action_works_without_it(console: Console) -> None:
    browser = console.browser("alice")
    groups = browser.get("/console/security-groups").text
    rule = re.findall(r'action="(/console/security-group-rules/[^"]+/delete)"', groups)[0]
    done = browser.post(rule, page="/console/security-groups", follow=True)
    assert done.status_code == 200 and rule not in done.text
