"""A tenant's certificate for a custom domain, checked before the edges get it; pure.

It must parse (a PEM chain, leaf first, and an unencrypted PEM private key), the key must be
the leaf's, the leaf must name the domain (exactly or by a one-label wildcard), and it must be
valid now. Each refusal is an `Invalid` naming why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sws.errors import Invalid

MAX_PEM = 65_536


@dataclass(frozen=True, slots=True)
class CertificateUpload:
    """What the tenant sends: the chain (leaf first) and the private key, both PEM."""

    chain: str
    private_key: str


@dataclass(frozen=True, slots=True)
class CheckedCertificate:
    """An upload that passed every check, with what SWS shows of it (never the key)."""

    chain: str
    private_key: str  # normalised: PKCS#8 PEM
    fingerprint: str  # sha256 of the leaf (DER), hex
    not_after: datetime
    names: tuple[str, ...]

    @property
    def pem(self) -> str:
        """What the edge's terminator loads: the chain, then the key."""
        return self.chain.rstrip("\n") + "\n" + self.private_key


def check_certificate(upload: CertificateUpload, domain: str, now: datetime) -> CheckedCertificate:
    chain = _chain(upload.chain)
    leaf = chain[0]
    key = _key(upload.private_key)
    if _public(key.public_key()) != _public(leaf.public_key()):
        raise Invalid("the private key does not belong to the certificate", field="private_key")
    names = _names(leaf)
    if not any(covers(name, domain) for name in names):
        raise Invalid(f"the certificate does not cover {domain} (it names "
                      f"{', '.join(names) or 'no DNS name'})", field="certificate")
    if leaf.not_valid_after_utc <= now:
        raise Invalid(f"the certificate expired on {leaf.not_valid_after_utc.isoformat()}",
                      field="certificate")
    if leaf.not_valid_before_utc > now:
        raise Invalid(f"the certificate is not valid before "
                      f"{leaf.not_valid_before_utc.isoformat()}", field="certificate")
    pem_chain = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain)
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    fingerprint = hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).hexdigest()
    return CheckedCertificate(pem_chain, pem_key, fingerprint, leaf.not_valid_after_utc, names)


def covers(name: str, domain: str) -> bool:
    """Whether a certificate's DNS name serves `domain`: equal, or `*.` one label above it."""
    name, domain = name.lower().rstrip("."), domain.lower().rstrip(".")
    if name.startswith("*."):
        head, _, rest = domain.partition(".")
        return bool(head) and rest == name[2:]
    return name == domain


def _chain(text: str) -> list[x509.Certificate]:
    if len(text) > MAX_PEM:
        raise Invalid("the certificate chain is too long", field="certificate")
    try:
        chain = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        raise Invalid("the certificate is not a PEM certificate chain",
                      field="certificate") from None
    return chain


def _key(text: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if len(text) > MAX_PEM:
        raise Invalid("the private key is too long", field="private_key")
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise Invalid("the private key is not an unencrypted PEM private key",
                      field="private_key") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise Invalid("the private key must be RSA or ECDSA", field="private_key")
    return key


def _public(key: object) -> bytes:
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def _names(leaf: x509.Certificate) -> tuple[str, ...]:
    try:
        alt = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(alt.get_values_for_type(x509.DNSName))
