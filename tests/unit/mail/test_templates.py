"""Mail templates: every mail exists in English and Chinese and fills its placeholders."""

from __future__ import annotations

import pytest

from sws.mail.templates import LANGUAGES, language_of, names, placeholders, render

CONTEXT = {
    "tenant": "acme",
    "link": "https://cloud.example/x?a=1&b=2",
    "token": "t0k",
    "hours": "24",
    "minutes": "30",
    "email": "ann@example.com",
    "user": "ann",
}


@pytest.mark.parametrize("name", names())
@pytest.mark.parametrize("language", LANGUAGES)
def test_each_mail_exists_in_each_language_and_fills_every_placeholder(
    name: str, language: str
) -> None:
    context = {key: f"<{key}>" for key in placeholders(name, language)}
    subject, text, html = render(name, language, context)
    assert subject and "$" not in subject and "$" not in text
    assert "\n" not in subject and not text.startswith("Subject")
    assert html is None or "$" not in html


def test_the_verification_mail_speaks_the_signer_s_language() -> None:
    en = render("signup_verify", "en", CONTEXT)
    zh = render("signup_verify", "zh-CN", CONTEXT)
    assert en[0] == "Confirm your SWS sign-up for acme"
    assert "确认" in zh[0] and CONTEXT["link"] in zh[1]


def test_html_escapes_what_the_context_brings_and_text_keeps_it() -> None:
    _, text, html = render("signup_verify", "en", {**CONTEXT, "tenant": "<b>x</b>"})
    assert html is not None and "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "<b>x</b>" in text and "a=1&amp;b=2" in html


def test_a_missing_placeholder_is_an_error_not_a_blank() -> None:
    with pytest.raises(KeyError):
        render("password_reset", "en", {"user": "ann"})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("zh", "zh"),
        ("zh_CN", "zh"),
        ("ZH-hans", "zh"),
        ("en", "en"),
        ("fr", "en"),
        ("", "en"),
    ],
)
def test_languages_other_than_chinese_fall_back_to_english(given: str, expected: str) -> None:
    assert language_of(given) == expected
