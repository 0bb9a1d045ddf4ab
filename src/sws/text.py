"""Text a person types for others to read (names, descriptions): printable characters only.

Control characters (NUL, ESC, ...), format characters (the bidi overrides U+202E and friends,
zero-width spaces), line separators, surrogates, private-use and unassigned code points are
refused: they hide or reorder what an operator or another tenant sees in a list, a log or a
terminal. Plain spaces and every letter, digit, mark, symbol or punctuation are fine.
"""

from __future__ import annotations

import unicodedata

from sws.errors import Invalid

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def check_text(value: str, *, field: str, max_length: int = 255, required: bool = False) -> str:
    """`value` if it is at most `max_length` printable characters (and not blank when
    `required`), else Invalid naming `field` and the first character at fault."""
    if required and not value.strip():
        raise Invalid(f"{field} is required", field=field)
    if len(value) > max_length:
        raise Invalid(f"{field} must be at most {max_length} characters", field=field)
    for char in value:
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            raise Invalid(f"{field} may not contain {_describe(char)}", field=field)
    return value


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    return f"{code} {name}" if name else f"{code}, an unprintable character"
