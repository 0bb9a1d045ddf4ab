"""A certificate authority made in the test, and the certificates it signs for the edges."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sws.cdn.model import EdgeCertificate


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@dataclass
class LocalCA:
    """A self-signed root whose certificate the test's clients trust."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    now: datetime.datetime  # certificates are valid from an hour before this, for a day

    @classmethod
    def create(cls, now: datetime.datetime | None = None) -> LocalCA:
        """A CA (and later certificates) valid around `now` (the wall clock by default)."""
        now = now or datetime.datetime.now(datetime.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SWS test CA")])
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate, now)

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, *names: str, days: int = 1) -> tuple[str, str]:
        """(certificate PEM, private key PEM) for `names` (the first is the common name)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = self.now
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM).decode(), _pem_key(key)

    def edge_certificate(self, name: str, *hosts: str) -> EdgeCertificate:
        certificate, key = self.issue(*hosts)
        return EdgeCertificate(name, hosts, certificate + key)
