"""SSH key pairs, pure: validate an imported OpenSSH public key, fingerprint it, or generate one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sws.errors import Invalid

_NAME = re.compile(r"^[A-Za-z0-9 _.@-]{1,255}$")
_KEY_TYPES = frozenset(
    {
        "ssh-rsa",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "ssh-dss",
    }
)


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    public_key: str
    private_key: str


def validate_name(name: str) -> str:
    """Nova's rule: 1 to 255 safe characters, not only blanks."""
    if not _NAME.match(name) or not name.strip():
        raise Invalid(
            "Keypair name must be 1-255 characters of letters, digits, spaces, '_', '-', '.', '@'",
            field="name",
        )
    return name


def validate_public_key(public_key: str) -> str:
    """Return the key on one line, or raise Invalid if it is not an OpenSSH public key."""
    text = public_key.strip()
    parts = text.split()
    if len(parts) < 2 or parts[0] not in _KEY_TYPES:
        raise Invalid("Keypair data is invalid: not an OpenSSH public key", field="public_key")
    try:
        serialization.load_ssh_public_key(f"{parts[0]} {parts[1]}".encode())
    except (ValueError, UnsupportedAlgorithm) as error:
        raise Invalid(f"Keypair data is invalid: {error}", field="public_key") from error
    return " ".join(parts)


def fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of the key blob, colon-separated, as Nova computes it."""
    try:
        blob = base64.b64decode(public_key.split()[1], validate=True)
    except (IndexError, binascii.Error) as error:
        raise Invalid("Keypair data is invalid", field="public_key") from error
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[index : index + 2] for index in range(0, len(digest), 2))


def generate(comment: str) -> GeneratedKey:
    """A fresh ed25519 pair; the private key is handed to the caller once and never stored."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    private_text = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return GeneratedKey(
        public_key=f"{public.decode()} {comment}", private_key=private_text.decode()
    )
