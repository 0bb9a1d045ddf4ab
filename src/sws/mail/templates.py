"""Mail templates: `templates/<name>.<lang>.txt` (first line `Subject: ...`) and an optional
`.html`, in English (`en`) and Chinese (`zh`); `$name` placeholders, escaped in HTML."""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import cache
from importlib import resources
from string import Template

LANGUAGES = ("en", "zh")


def language_of(value: str | None) -> str:
    """`zh`, `zh-CN`, `zh_Hans`... are Chinese; anything else is English."""
    return "zh" if (value or "").lower().startswith("zh") else "en"


def render(name: str, language: str, context: Mapping[str, str]) -> tuple[str, str, str | None]:
    """(subject, text, html or None) of template `name` in `language`, filled from `context`."""
    subject, text, page = _parsed(name, language_of(language))
    escaped = {key: html.escape(value) for key, value in context.items()} if page else {}
    return (
        subject.substitute(context),
        text.substitute(context),
        None if page is None else page.substitute(escaped),
    )


@cache
def _parsed(name: str, lang: str) -> tuple[Template, Template, Template | None]:
    """A template's subject, text and HTML, read and split once per process."""
    first, _, body = _source(f"{name}.{lang}.txt").partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"mail template {name}.{lang}.txt must start with 'Subject: '")
    page = _optional(f"{name}.{lang}.html")
    return (
        Template(first.removeprefix("Subject:").strip()),
        Template(body.lstrip("\n")),
        None if page is None else Template(page),
    )


def placeholders(name: str, language: str) -> set[str]:
    """The `$names` template `name` needs in `language` (text and HTML)."""
    lang = language_of(language)
    sources = [_source(f"{name}.{lang}.txt"), _optional(f"{name}.{lang}.html") or ""]
    return {key for text in sources for key in Template(text).get_identifiers()}


def names() -> list[str]:
    """Every template name shipped (each must exist in every language)."""
    files = resources.files("sws.mail") / "templates"
    return sorted({f.name.split(".")[0] for f in files.iterdir() if f.name.endswith(".txt")})


@cache
def _source(filename: str) -> str:
    return (resources.files("sws.mail") / "templates" / filename).read_text(encoding="utf-8")


@cache
def _optional(filename: str) -> str | None:
    try:
        return _source(filename)
    except FileNotFoundError:
        return None
