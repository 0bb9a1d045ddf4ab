"""Languages of the console: gettext catalogs compiled from the .po files at first use.

English is the source language; `locales/<locale>/LC_MESSAGES/messages.po` adds one. The
visitor's choice comes from the `sws_lang` cookie (the switcher), else Accept-Language.
"""

from __future__ import annotations

import gettext
import io
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from sws.money import Money

LOCALES_DIR = Path(__file__).with_name("locales")
DEFAULT_LOCALE = "en"
#: locale -> the name shown in the switcher, in its own language.
LOCALES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}
_ALIASES = {"en": "en", "zh": "zh_CN", "zh_cn": "zh_CN", "zh_hans": "zh_CN", "zh_sg": "zh_CN"}


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a string for extraction; it is translated where it is shown."""
    return message


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> gettext.NullTranslations:
    """The catalog of `locale`, compiled in memory from its .po file (no build step)."""
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _match(tag: str) -> str | None:
    key = tag.strip().replace("-", "_").lower()
    if key in _ALIASES:
        return _ALIASES[key]
    return _ALIASES.get(key.split("_")[0])  # zh-TW too: Simplified beats falling back to English


def _weighted(header: str) -> list[tuple[float, int, str]]:
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag))
    return sorted(ranked)


def negotiate(accept_language: str | None) -> str:
    """The best supported locale for an Accept-Language header, else English."""
    for negative_quality, _, tag in _weighted(accept_language or ""):
        found = _match(tag)
        if found and negative_quality < 0:
            return found
    return DEFAULT_LOCALE


def choose(cookie: str | None, accept_language: str | None) -> str:
    return cookie if cookie in LOCALES else negotiate(accept_language)


def money(value: Money, locale: str) -> str:
    """Money in the visitor's locale: `¥1,234.50`, `€9.00`, `CN¥1,234.50` …"""
    return _currency(str(value.amount), value.currency, locale, True)


def unit_price(amount: Decimal, currency: str, locale: str) -> str:
    """A catalog price keeps its digits (0.004/hour is not 0.00/hour), never `4E+2`."""
    return _currency(str(amount), currency, locale, False)


@lru_cache(maxsize=4096)
def _currency(amount: str, currency: str, locale: str, quantize: bool) -> str:
    """Babel's text of an amount (as its exact digits: 0.0040 is not 0.004 unquantized), kept:
    Babel takes ~50 µs per amount and a page writes the same balance and prices again."""
    return str(format_currency(Decimal(amount), currency, locale=locale,
                               decimal_quantization=quantize))


def unit_money(value: Money, locale: str) -> str:
    return unit_price(value.amount, value.currency, locale)


def number(value: int | Decimal, locale: str) -> str:
    return str(format_decimal(value, locale=locale))
