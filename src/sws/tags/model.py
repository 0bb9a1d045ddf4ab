"""Tag rules: the grammar of `key` and `key=value` tags, a resource's tag set, and filters. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from sws.errors import Invalid, NotFound

#: What a tenant may tag: the API path segment of each kind (`/v1/tags/servers/{id}`).
Kind = Literal["servers", "volumes", "floating-ips", "loadbalancers"]
KINDS: tuple[Kind, ...] = get_args(Kind)
MAX_TAGS = 50  # per resource, as DigitalOcean's limit on a droplet's tags is generous
MAX_KEY = 63
MAX_VALUE = 63
MAX_TEXT = MAX_KEY + 1 + MAX_VALUE
KEY_CHARS = r"[A-Za-z0-9][A-Za-z0-9._-]*"  # ASCII letters, digits, . _ - ; not first . _ -
VALUE_CHARS = r"[A-Za-z0-9._:@+-]+"  # case kept; no spaces, no '=', no '/' (URL paths)
_KEY = re.compile(KEY_CHARS)
_VALUE = re.compile(VALUE_CHARS)


@dataclass(frozen=True, slots=True, order=True)
class Tag:
    """A key, lower-cased, and a value ("" for a bare key): `web`, `env=Prod`."""

    key: str
    value: str = ""

    def __str__(self) -> str:
        return f"{self.key}={self.value}" if self.value else self.key

    def matches(self, wanted: Tag) -> bool:
        """A filter `env` matches every `env=…`; a filter `env=prod` only that value."""
        return self.key == wanted.key and (not wanted.value or self.value == wanted.value)


def parse_tag(text: str, field: str = "tag") -> Tag:
    """`Env=Prod ` is Tag("env", "Prod"): surrounding blanks go, the key is lower-cased."""
    key, sep, value = text.strip().partition("=")
    if not 1 <= len(key) <= MAX_KEY or not _KEY.fullmatch(key):
        raise Invalid(
            f"tag {text[:MAX_TEXT]!r}: the key is 1-{MAX_KEY} letters, digits, '.', '_' or '-',"
            " starting with a letter or digit", field=field)
    if sep and (not 1 <= len(value) <= MAX_VALUE or not _VALUE.fullmatch(value)):
        raise Invalid(
            f"tag {text[:MAX_TEXT]!r}: the value after '=' is 1-{MAX_VALUE} letters, digits"
            " or . _ : @ + -", field=field)
    return Tag(key.lower(), value)


def parse_tags(texts: Iterable[str], field: str = "tags") -> tuple[Tag, ...]:
    """A whole tag set, sorted by key: repeats of one tag count once, two values of one key
    (`env=prod`, `env=dev`) are refused, as are more than MAX_TAGS."""
    tags = {parse_tag(text, field) for text in texts}
    keys = [tag.key for tag in tags]
    clash = sorted({key for key in keys if keys.count(key) > 1})
    if clash:
        raise Invalid(f"tag key {clash[0]!r} has two values; a key holds one", field=field)
    if len(tags) > MAX_TAGS:
        raise Invalid(f"a resource holds at most {MAX_TAGS} tags", field=field)
    return tuple(sorted(tags))


def with_tag(current: Sequence[Tag], added: Tag) -> tuple[Tag, ...]:
    """`current` plus `added`, which replaces the value of a key already there."""
    kept = [tag for tag in current if tag.key != added.key]
    if len(kept) >= MAX_TAGS:
        raise Invalid(f"a resource holds at most {MAX_TAGS} tags", field="tag")
    return tuple(sorted([*kept, added]))


def without_tag(current: Sequence[Tag], removed: Tag) -> tuple[Tag, ...] | None:
    """`current` less the tags `removed` matches (`env` removes `env=…`); None if none did."""
    kept = tuple(tag for tag in current if not tag.matches(removed))
    return None if len(kept) == len(current) else kept


def check_kind(kind: str) -> Kind:
    """A kind that takes no tags names no resource: NotFound, as any unknown path is."""
    for known in KINDS:
        if kind == known:
            return known
    raise NotFound(f"no {kind[:32]!r} take tags: {', '.join(KINDS)} do", field="kind")
