"""English and Simplified Chinese: chosen by Accept-Language or the switcher; complete catalogs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from sws.money import Money
from sws.web.console import i18n
from tests.unit.console.conftest import Console

CONSOLE = Path(i18n.__file__).parent


def test_accept_language_picks_chinese(console: Console) -> None:
    browser = console.browser("alice", **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    html = browser.get("/console/instances").text
    assert "云主机" in html and "创建云主机" in html and 'lang="zh-CN"' in html
    assert "虚拟机" not in html  # one word for an instance: 云主机


def test_the_switcher_overrides_the_browser(console: Console) -> None:
    browser = console.browser("alice", **{"Accept-Language": "zh-CN"})
    response = browser.post("/console/language", {"locale": "en", "next": "/console/images"},
                            follow=True)
    assert response.url.path == "/console/images"
    assert "Images" in response.text and "镜像" not in response.text
    browser.post("/console/language", {"locale": "zh_CN"})
    assert "镜像" in browser.get("/console/images").text


def test_messages_from_python_are_translated_too(console: Console) -> None:
    browser = console.browser(**{"Accept-Language": "zh"})
    refused = browser.login("alice", "wrong-password")
    assert "用户名或密码错误" in refused.text


def test_negotiation() -> None:
    assert i18n.negotiate("zh-CN,zh;q=0.9") == "zh_CN"
    assert i18n.negotiate("fr-FR, zh;q=0.5") == "zh_CN"
    assert i18n.negotiate("en-GB,zh;q=0.5") == "en"
    assert i18n.negotiate("de, zh;q=0") == "en"
    assert i18n.negotiate(None) == "en"
    assert i18n.choose("zh_CN", "en") == "zh_CN"
    assert i18n.choose("klingon", "zh") == "zh_CN"


def test_currency_follows_the_locale() -> None:
    price = Money(Decimal("9389.93"), "CNY")
    assert i18n.money(price, "zh_CN") == "¥9,389.93"
    assert i18n.money(price, "en") == "CN¥9,389.93"
    assert i18n.money(Money(Decimal("4.5"), "EUR"), "en") == "€4.50"


def test_every_message_has_a_chinese_translation() -> None:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = {
        message if isinstance(message, str) else message[0]
        for _, _, message, *_ in extract_from_dir(str(CONSOLE), method_map, keywords=keywords)
    }
    with (CONSOLE / "locales/zh_CN/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po)
    untranslated = sorted(m for m in found if m and not _translated(catalog, m))
    assert untranslated == []
    assert len(found) > 200


def _translated(catalog: Catalog, msgid: str) -> bool:
    message = catalog.get(msgid) or next((m for m in catalog if m.id and m.id[0] == msgid
                                          and not isinstance(m.id, str)), None)
    if message is None or message.fuzzy:
        return False
    strings = [message.string] if isinstance(message.string, str) else list(message.string)
    return all(strings)
