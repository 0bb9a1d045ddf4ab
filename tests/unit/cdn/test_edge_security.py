"""Certificates a tenant uploads (each refusal names why), signed links, and the terminator's
HAProxy configuration (checked by the real `haproxy -c` when HAProxy is installed)."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sws.cdn import terminator
from sws.cdn.certificates import CertificateUpload, check_certificate, covers
from sws.cdn.model import (
    Backend,
    CacheSettings,
    EdgeCertificate,
    EdgeDistribution,
    new_signing_key,
    signed_path,
    url_signature,
)
from sws.errors import Invalid
from tests.integration.cdn.tls import LocalCA

NOW = datetime.datetime.now(datetime.UTC)
DIST = EdgeDistribution("a1b2c3d4e5f6", ("a1b2c3d4e5f6.cdn.example.com", "static.acme.test"),
                        Backend("10.0.0.5", 8080, "lb.example.com"), CacheSettings())


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA.create()


def test_a_good_certificate_is_kept_with_its_fingerprint_and_expiry(ca: LocalCA) -> None:
    chain, key = ca.issue("static.acme.test")
    checked = check_certificate(CertificateUpload(chain + ca.pem, key), "static.acme.test", NOW)

    assert checked.names == ("static.acme.test",)
    assert len(checked.fingerprint) == 64
    assert checked.not_after > NOW
    assert checked.pem.count("BEGIN CERTIFICATE") == 2 and "PRIVATE KEY" in checked.pem


@pytest.mark.parametrize(("case", "field", "reason"), [
    ("garbage", "certificate", "not a PEM certificate chain"),
    ("bad key", "private_key", "not an unencrypted PEM private key"),
    ("other key", "private_key", "does not belong to the certificate"),
    ("other name", "certificate", "does not cover static.acme.test (it names www.acme.test)"),
    ("expired", "certificate", "expired on"),
])
def test_each_bad_certificate_is_refused_naming_why(ca: LocalCA, case: str, field: str,
                                                    reason: str) -> None:
    chain, key = ca.issue("static.acme.test")
    upload = {
        "garbage": CertificateUpload("not a certificate", key),
        "bad key": CertificateUpload(chain, "-----BEGIN PRIVATE KEY-----\nxx\n"),
        "other key": CertificateUpload(chain, ca.issue("static.acme.test")[1]),
        "other name": CertificateUpload(*ca.issue("www.acme.test")),
        "expired": CertificateUpload(chain, key),
    }[case]
    when = NOW + datetime.timedelta(days=3) if case == "expired" else NOW

    with pytest.raises(Invalid) as refused:
        check_certificate(upload, "static.acme.test", when)

    assert refused.value.field == field
    assert reason in refused.value.detail


def test_a_wildcard_covers_one_label_only() -> None:
    assert covers("*.acme.test", "static.acme.test")
    assert not covers("*.acme.test", "a.static.acme.test")
    assert not covers("*.acme.test", "acme.test")
    assert covers("Static.Acme.Test.", "static.acme.test")


@given(st.from_regex(r"/[a-z0-9/._-]{0,40}", fullmatch=True), st.integers(0, 2**40))
def test_a_signed_path_carries_the_signature_of_its_path_and_expiry(path: str,
                                                                    expires: int) -> None:
    key = "0f" * 32
    link = signed_path(key, path, expires)

    assert link == f"{path}?expires={expires}&sig={url_signature(key, path, expires)}"
    assert url_signature(key, path, expires) != url_signature(key, path, expires + 1)


def test_a_query_is_kept_before_the_token() -> None:
    assert signed_path("0f" * 32, "/a?v=2", 10).startswith("/a?v=2&expires=10&sig=")


def test_the_terminator_checks_every_key_of_a_signed_distribution_only() -> None:
    old, new = new_signing_key(), new_signing_key()
    text = terminator.render([replace(DIST, signing_keys=(new, old)),
                              replace(DIST, id="bbbbbbbbbbbb", hosts=("b.example.org",))], [])

    assert "acl d_a1b2c3d4e5f6 var(txn.host) -m str a1b2c3d4e5f6.cdn.example.com " \
           "static.acme.test" in text
    assert text.count("set-header x-sws-signed a1b2c3d4e5f6") == 2
    assert "bbbbbbbbbbbb" not in text
    assert "ssl crt-list" not in text  # no certificate: HTTP only


def test_certificates_become_a_crt_list_by_sni() -> None:
    certs = [EdgeCertificate("wildcard", ("*.cdn.example.com",), "pem"),
             EdgeCertificate("h-1", ("static.acme.test",), "pem")]

    assert "ssl crt-list" in terminator.render([DIST], certs)
    assert terminator.crt_list("/run/t", certs) == (
        "/run/t/tls/wildcard.pem [alpn http/1.1] *.cdn.example.com\n"
        "/run/t/tls/h-1.pem [alpn http/1.1] static.acme.test\n")
    with pytest.raises(ValueError):
        terminator.render([DIST], [EdgeCertificate("../x", ("a.b",), "pem")])


@pytest.mark.skipif(shutil.which("haproxy", path="/usr/sbin:/usr/bin") is None,
                    reason="HAProxy is not installed")
def test_the_real_haproxy_accepts_the_rendering(ca: LocalCA, tmp_path: Path) -> None:
    chain, key = ca.issue("*.cdn.example.com")
    certs = [EdgeCertificate("wildcard", ("*.cdn.example.com",), chain + key)]
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "wildcard.pem").write_text(chain + key)
    (tmp_path / "tls" / "crt-list").write_text(terminator.crt_list(str(tmp_path), certs))
    config = tmp_path / "haproxy.cfg"
    config.write_text(terminator.render([replace(DIST, signing_keys=(new_signing_key(),))],
                                        certs))
    env = {**os.environ, "SWS_EDGE_HTTP": "127.0.0.1:1", "SWS_EDGE_HTTPS": "127.0.0.1:2",
           "SWS_EDGE_RUN": str(tmp_path), "SWS_EDGE_FRONT": str(tmp_path / "front.sock")}
    haproxy = shutil.which("haproxy", path="/usr/sbin:/usr/bin")
    assert haproxy is not None
    done = subprocess.run([haproxy, "-c", "-f", str(config)], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
