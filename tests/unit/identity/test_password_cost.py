"""Production password hashing keeps argon2id's recommended cost; only tests make it cheap."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from sws.identity import auth


def test_production_hashes_use_argon2s_recommended_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auth, "PasswordHasher", PasswordHasher)  # undo the suite's cheap cost
    stored = auth.PasswordHashing().hash("correct horse")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert auth.PasswordHashing().verify(stored, "correct horse")


def test_the_suite_hashes_cheaply_in_the_same_format() -> None:
    stored = auth.PasswordHashing().hash("correct horse")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert not auth.PasswordHashing().verify(stored, "wrong horse")
