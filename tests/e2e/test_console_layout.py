"""Every console page, tenant and admin, at 1366x768 and 390x844, in English and Chinese:
none is wider than its viewport, axe-core finds no serious or critical violation, and no
Chinese page shows an English text of the catalog untranslated.

The pages come from the app's routes (`console_pages`), so a new page is visited without
editing this file. The tenant has an instance, a load balancer with long host names, a
container, an alarm and a CDN distribution, so the detail pages and the lists have rows.
An admin's Filter Agents page has a report with long drift and error texts.
One browser context per language and size; each visits every page. axe-core (vendored from
the npm registry in tests/e2e/vendor/axe-core) runs on every page at 1366 in English and at 390
in Chinese, so each page is checked in both languages and at both sizes at half the cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po

from sws.web.app import create_app
from sws.web.console.i18n import LOCALES_DIR
from tests.e2e.conftest import PASSWORD, Site
from tests.e2e.console_pages import Page, pages

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}
LOCALES = ("en", "zh_CN")
LONG = "payments-gateway-production-frontend-cluster-0001"
FACTS = ("[document.documentElement.scrollWidth, window.innerWidth, 'axe' in window,"
         " document.documentElement.lang === 'zh-CN']")
AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
AXE_RUNS = {("desktop", "en"), ("phone", "zh_CN")}
AXE_CHECK = """axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' +
            v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ') +
            (v.nodes[0].any.length ? ' (' + v.nodes[0].any[0].message + ')' : '')))"""


def api(site: Site, user: str) -> httpx.Client:
    client = httpx.Client(base_url=site.url, timeout=30)
    answer = client.post("/v1/auth/tokens", json={"name": user, "password": PASSWORD})
    answer.raise_for_status()
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return client


def created(answer: httpx.Response) -> Any:
    assert answer.status_code < 300, answer.text
    return answer.json()


def tenant_resources(site: Site) -> dict[str, str]:
    """alice's instance, load balancer, container, alarm and distribution, by parameter."""
    alice = api(site, "alice")
    try:
        flavor = next(f["id"] for f in alice.get("/v1/flavors").json()["items"]
                      if f["name"] == "m1.small")
        image = next(i["id"] for i in alice.get("/v1/images").json()["items"]
                     if i["status"] == "active")
        server = created(alice.post("/v1/servers", json={
            "name": LONG, "flavor_id": flavor, "image_id": image}))
        server_id = server[0]["id"]
        site.settle()
        lb = created(alice.post("/v1/loadbalancers", json={
            "name": LONG, "type": "http",
            "custom_hosts": [f"{LONG}.lb.example.com", f"www.{LONG}.lb.example.com"],
            "members": [{"server_id": server_id, "port": 8080}]}))
        created(alice.post("/v1/storage/containers", json={"name": LONG}))
        alarm = created(alice.post("/v1/alarms", json={
            "name": LONG, "rule": {"type": "threshold", "resource_id": server_id,
                                   "meter": "cpu_util", "comparison": "gt", "threshold": 90}}))
        distribution = created(alice.post("/v1/cdn/distributions", json={
            "name": LONG, "origin": {"kind": "loadbalancer", "ref": lb["id"]}}))
    finally:
        alice.close()
    return {"server_id": server_id, "lb_id": lb["id"], "name": LONG,
            "alarm_id": alarm["id"], "distribution_id": distribution["id"],
            "month": "2026-03", "rest": "no-such-page"}


def drifting_agent(site: Site) -> None:
    """A filter agent's report with long drift and error texts (Filter Agents once ran
    4,097 px wide on such a report)."""
    rule = "ip-daddr-10.20.0.0/16-tcp-dport-1-65535-ct-state-new-accept-" * 4
    admin = api(site, "root-admin")
    try:
        created(admin.post("/v1/admin/netfilter/hosts/compute-01/reports", json={
            "target": "nft", "digest": "0" * 64, "in_sync": False, "elements": 12,
            "mode": "failed", "drift": {"missing": [rule] * 6, "extra": [rule]},
            "error": "nft: " + rule * 3, "apply_seconds": 0.25}))
    finally:
        admin.close()


@pytest.fixture(scope="module")
def every_page(site: Site) -> list[Page]:
    drifting_agent(site)
    return pages(create_app(site.container), tenant_resources(site))


def log_in(tab: Any, user: str) -> None:
    tab.goto("/console/login")
    tab.fill("input[name=name]", user)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit].primary")
    tab.wait_for_selector("#logout")


TEXTS = """(() => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest('script, style, code, pre, option, [translate=no]')) {
      texts.push(node.textContent.trim());
    }
  }
  const names = ['title', 'aria-label', 'placeholder', 'data-confirm'];
  for (const el of document.querySelectorAll(names.map(n => '[' + n + ']').join(', '))) {
    for (const name of names) {
      if (el.hasAttribute(name)) texts.push(el.getAttribute(name).trim());
    }
  }
  return texts.filter(t => /[A-Za-z]/.test(t));
})()"""


def english_of_catalog() -> frozenset[str]:
    """The catalog's English texts that Chinese translates differently (no placeholders)."""
    with (LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    return frozenset(m.id for m in catalog if isinstance(m.id, str) and m.id and m.string
                     and m.string != m.id and "%(" not in m.id)


ENGLISH = english_of_catalog()


def problems(tab: Any, shown: list[Page]) -> list[str]:
    """The pages wider than the viewport (with the widest element), where axe is loaded their
    serious and critical accessibility violations, and on Chinese pages the catalog's
    English texts shown untranslated."""
    found = []
    for page in shown:
        answer = tab.goto(page.url)
        assert answer is not None and answer.status < 500, f"{page.url}: {answer and answer.status}"
        width, view, axe, chinese = tab.evaluate(FACTS)
        if width > view:
            found.append(f"{page.url}: {width} px wide in {view} ({tab.evaluate(WIDEST)})")
        if axe:
            found += [f"{page.url}: {violation}" for violation in tab.evaluate(AXE_CHECK)]
        if chinese:
            found += [f"{page.url}: untranslated {text!r}"
                      for text in dict.fromkeys(tab.evaluate(TEXTS)) if text in ENGLISH]
    return found


WIDEST = """(() => {
  const view = window.innerWidth; let worst = null;
  for (const el of document.querySelectorAll('body *')) {
    const right = el.getBoundingClientRect().right;
    if (right > view && (!worst || right > worst[0])) worst = [right, el];
  }
  if (!worst) return 'no element';
  const el = worst[1];
  return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
         (el.className && el.className.baseVal === undefined ? '.' + el.className : '') +
         ' to ' + Math.round(worst[0]);
})()"""


@pytest.fixture(params=[(size, locale) for size in SIZES for locale in LOCALES],
                ids=lambda p: f"{p[0]}-{p[1]}")
def tab(request: pytest.FixtureRequest, browser: Any, site: Site) -> Iterator[Any]:
    size, locale = request.param
    width, height = SIZES[size]
    context = browser.new_context(base_url=site.url, viewport={"width": width, "height": height},
                                  locale="zh-CN" if locale == "zh_CN" else "en-US")
    context.add_cookies([{"name": "sws_lang", "value": locale, "url": site.url}])
    if (size, locale) in AXE_RUNS:  # an init script is not bound by the pages' CSP
        context.add_init_script(path=str(AXE))
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_every_page_fits_its_viewport_and_passes_axe(tab: Any, every_page: list[Page]) -> None:
    found = problems(tab, [p for p in every_page if p.anonymous])
    log_in(tab, "alice")
    found += problems(tab, [p for p in every_page if not p.anonymous and not p.admin])
    tab.goto("/console/")
    tab.click("#logout")
    log_in(tab, "root-admin")
    found += problems(tab, [p for p in every_page if p.admin])
    assert not found, "\n".join(found)
